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
  return failures;
}
