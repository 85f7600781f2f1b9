import { httpAdapter } from "../../adapters/http/index.js";
import { type NodeService, startFromEnv } from "../../service/platforms/node.js";
import { describeConformance } from "../conformance/index.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

const TOKEN = "conformance-token-upstash";
let upstash: UpstashFixture | undefined;
let service: NodeService | undefined;
const url = () => {
  if (!service) throw new Error("the service is not started");
  return service.url;
};

// The Node entry configured only by environment variables, as deployed:
// httpAdapter → loopback HTTP → @hono/node-server → the service → the Upstash
// adapter → the Upstash REST protocol → redis-server.
describeConformance({
  name: "http over upstash (Node entry)",
  sendsRetryAfter: true,
  async setup() {
    upstash = await startUpstash();
    service = await startFromEnv({
      EDGELOCK_BACKEND: "upstash",
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      EDGELOCK_API_TOKENS: TOKEN,
      // The suite's lock client sends its namespace and a 256-byte key as one key.
      EDGELOCK_MAX_KEY_BYTES: "384",
      PORT: "0",
    });
  },
  create: ({ fetch }) => httpAdapter({ url: url(), token: TOKEN, fetch }),
  // Counted by the REST endpoint in front of Redis: every request the service sent.
  backendRequests: () => upstash?.requests() ?? 0,
  async cleanup() {
    await service?.close();
    await upstash?.stop();
  },
});
