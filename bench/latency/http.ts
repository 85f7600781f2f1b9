// Latency of the lock service through httpAdapter on loopback, per operation:
// npx tsx bench/latency/http.ts
// Measures only, so it lives in bench/ and not among the tests.

import { httpAdapter } from "../../adapters/http/index.js";
import { createLockService } from "../../service/app.js";
import { listen } from "../../service/platforms/node.js";
import { createLocker, memoryAdapter } from "../../src/index.js";
import { startLockWorker } from "../../test/support/miniflare.js";

const N = 300;
const pct = (xs: number[], p: number) =>
  (xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? Number.NaN).toFixed(2);
async function measure(name: string, url: string, token: string) {
  const locker = createLocker({ adapter: httpAdapter({ url, token }) });
  const t = { acquire: [] as number[], inspect: [] as number[], release: [] as number[] };
  for (let i = 0; i < N + 30; i++) {
    const key = `lat-${i % 10}`;
    let s = performance.now();
    const lease = await locker.tryAcquire(key, { ttlMs: 5000 });
    const a = performance.now() - s;
    s = performance.now();
    await locker.inspect(key);
    const b = performance.now() - s;
    s = performance.now();
    await lease?.release();
    const c = performance.now() - s;
    if (i >= 30) {
      t.acquire.push(a);
      t.inspect.push(b);
      t.release.push(c);
    }
  }
  for (const [op, xs] of Object.entries(t))
    console.log(`${name} ${op}: p50 ${pct(xs, 0.5)} ms, p99 ${pct(xs, 0.99)} ms (n=${xs.length})`);
}
const svc = await listen(createLockService({ adapter: memoryAdapter(), tokens: "latency-token-01" }), { port: 0 });
await measure("node+memory", svc.url, "latency-token-01");
await svc.close();
const w = await startLockWorker({ bindings: { EDGELOCK_API_TOKENS: "latency-token-01" } });
await measure("worker+durable-object (miniflare)", w.url.href, "latency-token-01");
await w.stop();
