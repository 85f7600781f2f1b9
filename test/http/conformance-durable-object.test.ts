import { httpAdapter } from "../../adapters/http/index.js";
import { describeConformance } from "../conformance/index.js";
import { type LockWorker, startLockWorker } from "../support/miniflare.js";

const TOKEN = "conformance-token-durable-object";
let worker: LockWorker | undefined;

// The real Worker entry (service/platforms/worker.ts) in workerd: httpAdapter →
// loopback HTTP → the Worker's Hono service → the lock Durable Object.
describeConformance({
  name: "http over durable-object (workerd)",
  sendsRetryAfter: true,
  async setup() {
    // 384-byte keys: the suite's lock client sends its namespace and a 256-byte key as one key.
    worker = await startLockWorker({ bindings: { EDGELOCK_API_TOKENS: TOKEN, EDGELOCK_MAX_KEY_BYTES: "384" } });
  },
  create({ fetch }) {
    if (!worker) throw new Error("the Worker is not started");
    return httpAdapter({ url: worker.url.href, token: TOKEN, fetch });
  },
  cleanup: () => worker?.stop(),
});
