import { httpAdapter } from "../../adapters/http/index.js";
import { createLockService } from "../../service/app.js";
import { listen, type NodeService } from "../../service/platforms/node.js";
import { memoryAdapter } from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";

const TOKEN = "conformance-token-memory";
let service: NodeService | undefined;

// The whole path: httpAdapter → fetch → loopback HTTP → @hono/node-server → the service → memory adapter.
describeConformance({
  name: "http over memory",
  async create({ fetch }) {
    // 384-byte keys: the suite's lock client sends its namespace and a 256-byte key as one key.
    const app = createLockService({ adapter: memoryAdapter(), tokens: TOKEN, maxKeyBytes: 384 });
    service = await listen(app, { port: 0 });
    return httpAdapter({ url: service.url, token: TOKEN, fetch });
  },
  cleanup: () => service?.close(),
});
