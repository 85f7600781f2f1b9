/**
 * Semaphore bench: permits per second under contention next to the lock's
 * hand-off rate on the same backend (memory, Upstash REST → redis-server,
 * etcd 3.4).
 * `contenders` workers loop acquire-with-wait, 1–2 ms of work, release, for
 * `seconds`; the lock is the `limit: 1` case. Checks the limit while it runs.
 *
 * Run: `npx tsx bench/semaphores.ts` (BENCH_SECONDS, BENCH_CONTENDERS to change;
 * BENCH_ONLY=etcd,upstash for some backends only).
 */
import { createLocker, type Locker, memoryAdapter } from "../src/index.js";
import { Meter, now, sleep } from "./measure.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const contenders = Number(process.env.BENCH_CONTENDERS ?? 16);
const only = process.env.BENCH_ONLY?.split(",");
const wanted = (backend: string) => only === undefined || only.includes(backend);

interface Row {
  readonly backend: string;
  readonly primitive: string;
  readonly perSecond: number;
  readonly requestsPerGrant: number;
}

async function run(locker: Locker, meter: Meter, backend: string, limit: number | "lock"): Promise<Row> {
  const key = `bench-${limit}-${Math.random().toString(36).slice(2, 8)}`;
  const semaphore = limit === "lock" ? undefined : locker.semaphore(key, { limit });
  const cap = limit === "lock" ? 1 : limit;
  let grants = 0;
  let inside = 0;
  const deadline = now() + seconds * 1000;
  const before = meter.requests;
  const started = now();
  const worker = async (id: number) => {
    while (now() < deadline) {
      const held = semaphore
        ? await semaphore.acquire({ ttlMs: 10_000, waitMs: 60_000 })
        : await locker.acquire(key, { ttlMs: 10_000, waitMs: 60_000 });
      grants++;
      if (++inside > cap) throw new Error(`${backend}: ${inside} holders of a limit of ${cap}`);
      await sleep(1 + ((id + grants) % 2));
      inside--;
      await held.release();
    }
  };
  await Promise.all(Array.from({ length: contenders }, (_, id) => worker(id)));
  const elapsed = (now() - started) / 1000;
  return {
    backend,
    primitive: limit === "lock" ? "lock hand-offs" : `semaphore permits (limit ${limit})`,
    perSecond: grants / elapsed,
    requestsPerGrant: (meter.requests - before) / grants,
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const backoff = { baseMs: 10, maxMs: 100 };
  if (wanted("memory")) {
    const meter = new Meter();
    const adapter = memoryAdapter();
    const locker = createLocker({ adapter, backoff });
    for (const limit of ["lock", 1, 4] as const) rows.push(await run(locker, meter, "memory", limit));
  }
  if (wanted("upstash")) {
    const { startUpstash } = await import("../test/support/upstash-rest.js");
    const { upstashAdapter } = await import("../adapters/upstash/index.js");
    const fixture = await startUpstash();
    try {
      const meter = new Meter();
      const locker = createLocker({
        adapter: upstashAdapter({ url: fixture.url, token: fixture.token, fetch: meter.fetch }),
        backoff,
      });
      for (const limit of ["lock", 1, 4] as const) rows.push(await run(locker, meter, "upstash", limit));
    } finally {
      await fixture.stop();
    }
  }
  if (wanted("etcd")) {
    const { startEtcd } = await import("../test/support/etcd.js");
    const { etcdAdapter } = await import("../adapters/etcd/index.js");
    const etcd = await startEtcd();
    try {
      const meter = new Meter();
      const locker = createLocker({ adapter: etcdAdapter({ endpoint: etcd.url, fetch: meter.fetch }), backoff });
      for (const limit of ["lock", 1, 4] as const) rows.push(await run(locker, meter, "etcd", limit));
    } finally {
      await etcd.stop();
    }
  }
  console.log(`| backend | primitive | grants/s | requests per grant |  (${contenders} contenders, ${seconds} s each)`);
  console.log("|---|---|---|---|");
  for (const row of rows) {
    const requests = row.backend === "memory" ? "—" : row.requestsPerGrant.toFixed(1);
    console.log(`| ${row.backend} | ${row.primitive} | ${row.perSecond.toFixed(0)} | ${requests} |`);
  }
}

await main();
