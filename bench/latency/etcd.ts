/**
 * Latency of the etcd adapter through the lock client, against a real etcd
 * 3.4 member (data on tmpfs), without auth and with token auth. Measures only:
 *
 *   npx tsx bench/latency/etcd.ts [iterations]
 */
import { etcdAdapter } from "../../adapters/etcd/index.js";
import { createLocker, type LockAdapter } from "../../src/index.js";
import { startEtcd } from "../../test/support/etcd.js";
import { Latencies } from "./report.js";

const iterations = Number(process.argv[2] ?? 200);
const [plain, secured] = await Promise.all([startEtcd(), startEtcd()]);
try {
  await secured.enableAuth("bench-password");
  const paths: [string, LockAdapter][] = [
    ["no auth", etcdAdapter({ endpoint: plain.url })],
    ["token auth", etcdAdapter({ endpoint: secured.url, username: "root", password: "bench-password" })],
  ];
  for (const [label, adapter] of paths) {
    const locker = createLocker({ adapter, namespace: "latency:" });
    const latencies = new Latencies();
    for (let i = 0; i < iterations + 20; i++) {
      const warm = i < 20; // the first rounds authenticate and warm the connections
      const lease = await latencies.time("acquire", () => locker.tryAcquire(`k${i % 10}`, { ttlMs: 10_000 }), warm);
      if (!lease) throw new Error("expected a lease");
      await latencies.time("extend", () => lease.extend(), warm);
      await latencies.time("inspect", () => locker.inspect(`k${i % 10}`), warm);
      await latencies.time("release", () => lease.release(), warm);
    }
    console.log(`etcd adapter over the v3 JSON gateway, ${label}:`);
    for (const line of latencies.lines()) console.log(line);
  }
} finally {
  await Promise.all([plain.stop(), secured.stop()]);
}
