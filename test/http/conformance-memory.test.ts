import { httpAdapter } from "../../adapters/http/index.js";
import { createLockService } from "../../service/app.js";
import { listen, type NodeService } from "../../service/platforms/node.js";
import { memoryAdapter } from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";
import { countingCalls } from "../support/counting-calls.js";

const TOKEN = "conformance-token-memory";
let service: NodeService | undefined;
const url = () => {
  if (!service) throw new Error("the service is not started");
  return service.url;
};
// The service's calls on its adapter: memory sends no requests, so its calls are what the service asks of the backend.
const backend = countingCalls(memoryAdapter());

// The whole path: httpAdapter → fetch → loopback HTTP → @hono/node-server → the service → memory adapter.
describeConformance({
  name: "http over memory",
  sendsRetryAfter: true,
  async setup() {
    // 384-byte keys: the suite's lock client sends its namespace and a 256-byte key as one key.
    const app = createLockService({ adapter: backend.adapter, tokens: TOKEN, maxKeyBytes: 384 });
    service = await listen(app, { port: 0 });
  },
  // One waiting slot per instance: a second concurrent wait on the same
  // instance is polled, so both ways of waiting run the whole suite.
  create: ({ fetch }) => httpAdapter({ url: url(), token: TOKEN, fetch, maxWaitingRequests: 1 }),
  backendRequests: () => backend.calls(),
  cleanup: () => service?.close(),
});
