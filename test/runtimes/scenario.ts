/**
 * A lock scenario that needs nothing but the library and a backend, so it
 * can run on any runtime (see `bun-main.ts`). It returns the checks that
 * failed, by name; an empty list means every check passed.
 */
import { createLocker, type LockAdapter } from "../../src/index.js";

export async function runScenario(adapter: LockAdapter, label: string): Promise<string[]> {
  const failures: string[] = [];
  const check = (name: string, ok: boolean) => {
    if (!ok) failures.push(`${label}: ${name}`);
  };
  const locker = createLocker({ adapter, namespace: `runtime-${Math.random().toString(36).slice(2, 8)}:` });
  const ttlMs = Math.max(adapter.capabilities.ttl.minMs, 5_000);

  const first = await locker.tryAcquire("job", { ttlMs, owner: "runtime-check" });
  check("a free key is granted", first !== null && Number.isSafeInteger(first.fence));
  check("the token is 22 base64url characters", /^[A-Za-z0-9_-]{22}$/.test(first?.token ?? ""));
  check("a held key is refused", (await locker.tryAcquire("job", { ttlMs })) === null);
  const state = await locker.inspect("job");
  check("inspect shows the holder", state.held && state.fence === first?.fence);
  await first?.extend();
  check("extend keeps the lease", first?.signal.aborted === false);
  await first?.release();
  check("release frees the key", !(await locker.inspect("job")).held);

  const second = await locker.tryAcquire("job", { ttlMs });
  check("fences rise", (second?.fence ?? 0) > (first?.fence ?? Number.MAX_SAFE_INTEGER));
  await second?.release();

  const contenders = await Promise.all(Array.from({ length: 10 }, () => locker.tryAcquire("race", { ttlMs })));
  const winners = contenders.filter((lease) => lease !== null);
  check("10 contenders get exactly one lease", winners.length === 1);
  await Promise.all(winners.map((lease) => lease?.release()));

  let runs = 0;
  const results = await Promise.all(
    [1, 2, 3].map(() =>
      locker.withLock(
        "once",
        async () => {
          runs++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        },
        { ttlMs },
      ),
    ),
  );
  check("withLock runs once among three", runs === 1 && results.filter((r) => r.ran).length === 1);

  // A waiter sleeps as this adapter waits (a queue, BLPOP, a schedule, etcd's
  // watch) and is woken by the release, long before the holder's TTL.
  const holder = await locker.tryAcquire("handoff", { ttlMs: Math.max(ttlMs, 20_000) });
  const waiter = locker.acquire("handoff", { ttlMs, waitMs: 15_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const releasedAt = Date.now();
  await holder?.release();
  const handedOver = await waiter.then(
    (lease) => lease,
    () => null,
  );
  check("a waiter gets the lock on release", handedOver !== null && handedOver.fence > (holder?.fence ?? Infinity));
  // Well before etcd's 5 s watch bound, too: a watch that never delivered its event would miss it.
  check("the waiter is woken soon after the release", Date.now() - releasedAt < 4_000);
  await handedOver?.release();
  return failures;
}
