import { expect, test } from "vitest";
import { LockLostError } from "../../src/index.js";
import { SPREADS, type Suite } from "./context.js";

/** The lock client's leases and withLock over the adapter. */
export function leases(suite: Suite): void {
  const ttl = () => suite.ttlMs(4);

  test("tryAcquire grants a lease with an unguessable token, a fence and a conservative deadline", async () => {
    const locker = suite.locker();
    const k = suite.key("lease");
    const before = Date.now();
    const lease = await locker.tryAcquire(k, { ttlMs: ttl(), owner: "worker-1" });
    if (!lease) throw new Error("expected a lease");
    expect(lease.key).toBe(k);
    expect(lease.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Number.isSafeInteger(lease.fence)).toBe(true);
    expect(lease.ttlMs).toBeGreaterThanOrEqual(ttl());
    expect(lease.expiresAt).toBeLessThanOrEqual(Date.now() + lease.ttlMs);
    expect(lease.expiresAt).toBeGreaterThanOrEqual(before + lease.ttlMs - suite.capabilities().clockSkewMarginMs);
    expect(lease.signal.aborted).toBe(false);
    const state = await locker.inspect(k);
    expect(state).toMatchObject({ held: true, fence: lease.fence });
    expect(state).toMatchObject({ held: true, owner: "worker-1" });
    await lease.release();
  });

  test("tryAcquire on a held key answers null and leaves the holder alone", async () => {
    const locker = suite.locker();
    const k = suite.key("held");
    const lease = await locker.tryAcquire(k, { ttlMs: ttl() });
    expect(lease).not.toBeNull();
    expect(await locker.tryAcquire(k, { ttlMs: ttl() })).toBeNull();
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: lease?.fence });
    await lease?.release();
  });

  test("release is idempotent, aborts the lease signal, and a re-acquire gets a greater fence", async () => {
    const locker = suite.locker();
    const k = suite.key("reacquire");
    const first = await locker.tryAcquire(k, { ttlMs: ttl() });
    if (!first) throw new Error("expected a lease");
    await first.release();
    await first.release();
    expect(first.signal.aborted).toBe(true);
    expect(first.signal.reason).toBeInstanceOf(LockLostError);
    expect(await locker.inspect(k)).toEqual({ held: false });
    const second = await locker.tryAcquire(k, { ttlMs: ttl() });
    if (!second) throw new Error("expected a second lease");
    expect(second.fence).toBeGreaterThan(first.fence);
    await expect(first.extend()).rejects.toBeInstanceOf(LockLostError);
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: second.fence });
    await second.release();
  });

  test("lease.extend keeps the fence and moves the deadline later", async () => {
    const locker = suite.locker();
    const k = suite.key("extend");
    const lease = await locker.tryAcquire(k, { ttlMs: ttl() });
    if (!lease) throw new Error("expected a lease");
    const { fence, expiresAt } = lease;
    await new Promise((resolve) => setTimeout(resolve, 30));
    await lease.extend(suite.ttlMs(8));
    expect(lease.fence).toBe(fence);
    expect(lease.expiresAt).toBeGreaterThan(expiresAt);
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence });
    await lease.release();
  });

  test("await using releases at the end of the scope", async () => {
    const locker = suite.locker();
    const k = suite.key("using");
    {
      await using lease = await locker.acquire(k, { ttlMs: ttl(), waitMs: 0 });
      expect(await locker.inspect(k)).toMatchObject({ held: true, fence: lease.fence });
    }
    expect(await locker.inspect(k)).toEqual({ held: false });
  });

  for (const spread of SPREADS) {
    test(`withLock runs the function once among concurrent callers, releases, and tells losers (${spread})`, async () => {
      const callers = await suite.contenders(3, spread);
      const k = suite.key("once");
      let runs = 0;
      // The winner holds the lock until every other caller has had its answer, however late each reaches the
      // backend (a fresh instance may authenticate first): none may find it free after a release and run too.
      let settled = 0;
      let othersAnswered = () => {};
      const othersDone = new Promise<void>((resolve) => {
        othersAnswered = resolve;
      });
      const results = await Promise.all(
        callers.map((caller) =>
          caller
            .locker()
            .withLock(
              k,
              async (lease) => {
                runs++;
                let timer: ReturnType<typeof setTimeout> | undefined;
                // Bounded: two callers running at once would each wait for the other.
                await Promise.race([othersDone, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
                clearTimeout(timer);
                return lease.fence;
              },
              { ttlMs: ttl() },
            )
            .finally(() => {
              if (++settled === callers.length - 1) othersAnswered();
            }),
        ),
      );
      expect(runs).toBe(1);
      const ran = results.filter((r) => r.ran);
      expect(ran).toHaveLength(1);
      expect(results.filter((r) => !r.ran)).toEqual([
        { ran: false, reason: "locked" },
        { ran: false, reason: "locked" },
      ]);
      expect(await suite.locker().inspect(k)).toEqual({ held: false });
    });

    test(`withLock with a wait runs after the holder releases, and reports a timeout otherwise (${spread})`, async () => {
      const [holding, waiting] = await suite.contenders(2, spread);
      if (!holding || !waiting) throw new Error("expected two instances");
      const k = suite.key("wait");
      const holder = await holding.locker().tryAcquire(k, { ttlMs: ttl() });
      if (!holder) throw new Error("expected a lease");
      let releaseStartedAt = Number.POSITIVE_INFINITY;
      const calls = waiting.calls();
      // Released once the waiter has asked, so the wait is real on every adapter.
      const releasing = waiting.called(calls + 1).then(() => {
        releaseStartedAt = Date.now();
        return holder.release();
      });
      const waited = await waiting.locker().withLock(k, async (lease) => ({ at: Date.now(), fence: lease.fence }), {
        ttlMs: ttl(),
        waitMs: 10_000,
      });
      if (!waited.ran) throw new Error(`expected the function to run, got ${waited.reason}`);
      expect(waited.value.fence).toBeGreaterThan(holder.fence);
      // It ran only once the holder had started to release, never beside it.
      expect(waited.value.at).toBeGreaterThanOrEqual(releaseStartedAt);
      await releasing;
      const blocker = await holding.locker().tryAcquire(k, { ttlMs: ttl() });
      if (!blocker) throw new Error("expected the lock to be free again");
      const timedOut = await waiting.locker().withLock(k, async () => "ran", { ttlMs: ttl(), waitMs: 200 });
      expect(timedOut).toEqual({ ran: false, reason: "timeout" });
      await blocker.release();
    });
  }

  test("lockers with different namespaces never see each other's locks, on one instance or two", async () => {
    const other = await suite.instance();
    const k = suite.key("namespaced");
    const a = suite.main().locker({ namespace: `${suite.namespace}a:` });
    const b = other.locker({ namespace: `${suite.namespace}b:` });
    const sameB = suite.main().locker({ namespace: `${suite.namespace}b:` });
    const leaseA = await a.tryAcquire(k, { ttlMs: ttl() });
    if (!leaseA) throw new Error("expected a lease in namespace a");
    const leaseB = await b.tryAcquire(k, { ttlMs: ttl() });
    if (!leaseB) throw new Error("namespace b saw namespace a's lock");
    expect(await sameB.tryAcquire(k, { ttlMs: ttl() })).toBeNull();
    expect(await a.inspect(k)).toMatchObject({ held: true, fence: leaseA.fence });
    expect(await b.inspect(k)).toMatchObject({ held: true, fence: leaseB.fence });
    // And neither namespace's key is the bare key.
    expect(await suite.locker().inspect(k)).toEqual({ held: false });
    await leaseA.release();
    expect(await a.inspect(k)).toEqual({ held: false });
    expect(await sameB.inspect(k)).toMatchObject({ held: true, fence: leaseB.fence });
    await leaseB.release();
    expect(await b.inspect(k)).toEqual({ held: false });
  });

  test("withLock rethrows the function's error and still releases", async () => {
    const locker = suite.locker();
    const k = suite.key("throws");
    const boom = new Error("boom");
    await expect(
      locker.withLock(
        k,
        () => {
          throw boom;
        },
        { ttlMs: ttl() },
      ),
    ).rejects.toBe(boom);
    expect(await locker.inspect(k)).toEqual({ held: false });
  });
}
