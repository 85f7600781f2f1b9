/**
 * `npx tsx bench/upstash-permit-waits.ts`: permit waits on Upstash pushed
 * (each release wakes a waiter blocked in `BLPOP`, the default) against the
 * same adapter polling (`maxWaitingRequests: 0`, the lock client's backoff),
 * with holds long enough to matter: 8 workers, each on its own adapter
 * instance, on a semaphore of limit 2, each holding its permit `HOLD` ms
 * (default 1000) for `RUN` ms (default 8000). Prints one Markdown table
 * (docs/upstash.md). The main bench's semaphore row holds 1–2 ms.
 */
import { upstashAdapter } from "../adapters/upstash/index.js";
import { createLocker, newToken } from "../src/index.js";
import { startUpstash } from "../test/support/upstash-rest.js";
import { percentile } from "./measure.js";

const holdMs = Number(process.env.HOLD ?? 1_000);
const runMs = Number(process.env.RUN ?? 8_000);
const WORKERS = 8;
const LIMIT = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const upstash = await startUpstash();
  const rows: string[] = [];
  try {
    for (const mode of ["push (default)", "poll", "push (default)", "poll"] as const) {
      let requests = 0;
      const counted: typeof fetch = (input, init) => {
        requests++;
        return fetch(input, init);
      };
      const key = `permit-bench-${newToken().slice(0, 8)}`;
      const waits: number[] = [];
      const endsAt = Date.now() + runMs;
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          const polling = mode === "poll" ? { maxWaitingRequests: 0 } : {};
          const adapter = upstashAdapter({ url: upstash.url, token: upstash.token, fetch: counted, ...polling });
          const semaphore = createLocker({ adapter }).semaphore(key, { limit: LIMIT });
          while (Date.now() < endsAt) {
            const asked = Date.now();
            const permit = await semaphore.acquire({ ttlMs: holdMs * 10, waitMs: runMs * 3 });
            waits.push(Date.now() - asked);
            await sleep(holdMs);
            await permit.release();
          }
        }),
      );
      rows.push(
        `| ${mode} | ${waits.length} | ${(requests / waits.length).toFixed(2)} | ${percentile(waits, 50)} / ${percentile(waits, 99)} |`,
      );
    }
  } finally {
    await upstash.stop();
  }
  console.log(
    `| waiting (hold ${holdMs} ms, ${WORKERS} workers, limit ${LIMIT}, ${runMs} ms) | permits | requests per permit | wait p50 / p99 ms |`,
  );
  console.log("| --- | --- | --- | --- |");
  for (const row of rows) console.log(row);
}

await main();
