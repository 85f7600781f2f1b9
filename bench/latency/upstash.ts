/**
 * Latency of the Upstash adapter through the lock client, against the REST
 * fixture in front of redis-server, through both client paths (the adapter's
 * own requester and a user's `@upstash/redis` client). Measures only:
 *
 *   npx tsx bench/latency/upstash.ts [iterations]
 */
import { Redis } from "@upstash/redis";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLocker, type LockAdapter } from "../../src/index.js";
import { startUpstash } from "../../test/support/upstash-rest.js";
import { Latencies } from "./report.js";

const iterations = Number(process.argv[2] ?? 200);
const upstash = await startUpstash();
try {
  const paths: [string, LockAdapter][] = [
    ["adapter's requester", upstashAdapter({ url: upstash.url, token: upstash.token })],
    [
      "user's @upstash/redis client",
      upstashAdapter({ redis: new Redis({ url: upstash.url, token: upstash.token, retry: false }) }),
    ],
  ];
  for (const [label, adapter] of paths) {
    const locker = createLocker({ adapter, namespace: "latency:" });
    const latencies = new Latencies();
    for (let i = 0; i < iterations + 20; i++) {
      const warm = i < 20; // the first rounds load the scripts and warm the connections
      const lease = await latencies.time("acquire", () => locker.tryAcquire(`k${i % 10}`, { ttlMs: 10_000 }), warm);
      if (!lease) throw new Error("expected a lease");
      await latencies.time("extend", () => lease.extend(), warm);
      await latencies.time("release", () => lease.release(), warm);
    }
    console.log(`upstash adapter over the REST fixture, ${label}:`);
    for (const line of latencies.lines()) console.log(line);
  }
} finally {
  await upstash.stop();
}
