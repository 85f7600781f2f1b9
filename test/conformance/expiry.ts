import { expect, test } from "vitest";
import { LockLostError, newToken } from "../../src/index.js";
import { sleep } from "../support/timing.js";
import type { Suite } from "./context.js";

/**
 * TTL behaviour. These cases wait for real expiries (15 s and more on
 * backends whose minimum TTL is long), so they run concurrently on
 * different keys.
 */
export function expiry(suite: Suite): void {
  // Registered before the adapter exists, so one budget fits every backend's TTL floor.
  const budget = 150_000;

  test.concurrent(
    "after the TTL another caller gets in with a greater fence; the stale holder's extend and release fail without disturbing it",
    async () => {
      const locker = suite.locker();
      const k = suite.key("expiry");
      // Short, but long enough that the refusal below is sent while the lock is surely held, on a
      // loaded machine too: sized from this run's slow requests, as the other timing cases are.
      const ttlMs = Math.min(
        suite.capabilities().ttl.maxMs,
        Math.ceil(Math.max(suite.shortTtlMs(), 4 * suite.transport.slowMs())),
      );
      const stale = await locker.tryAcquire(k, { ttlMs });
      if (!stale) throw new Error("expected a lease");
      expect(await locker.tryAcquire(k, { ttlMs: suite.shortTtlMs() })).toBeNull();
      await sleep(suite.expiryWaitMs(stale.ttlMs));
      expect(stale.signal.aborted).toBe(true);
      expect(stale.signal.reason).toBeInstanceOf(LockLostError);
      expect(await locker.inspect(k)).toEqual({ held: false });

      const fresh = await locker.tryAcquire(k, { ttlMs: suite.ttlMs(4) });
      if (!fresh) throw new Error("expected the expired lock to be free");
      expect(fresh.fence).toBeGreaterThan(stale.fence);
      await expect(stale.extend()).rejects.toBeInstanceOf(LockLostError);
      // The stale lease's release reaches the backend, which must refuse it.
      await stale.release();
      expect(await locker.inspect(k)).toMatchObject({ held: true, fence: fresh.fence });
      await fresh.release();
    },
    budget,
  );

  test.concurrent(
    "an expired holder's token no longer extends or releases at the backend",
    async () => {
      const adapter = suite.adapter();
      const k = `direct-expiry:${suite.key("raw")}`;
      const stale = newToken();
      const grant = await adapter.acquire({ key: k, token: stale, ttlMs: suite.shortTtlMs() });
      if (!grant.ok) throw new Error("expected a grant");
      await sleep(suite.expiryWaitMs(grant.ttlMs));
      const fresh = newToken();
      const next = await adapter.acquire({ key: k, token: fresh, ttlMs: suite.ttlMs(4) });
      if (!next.ok) throw new Error("expected the expired lock to be free");
      expect(next.fence).toBeGreaterThan(grant.fence);
      expect(await adapter.extend({ key: k, token: stale, ttlMs: suite.shortTtlMs() })).toEqual({
        ok: false,
        reason: "not_held",
      });
      expect(await adapter.release({ key: k, token: stale })).toEqual({ ok: false, reason: "not_held" });
      expect(await adapter.inspect(k)).toMatchObject({ held: true, fence: next.fence });
      expect((await adapter.release({ key: k, token: fresh })).ok).toBe(true);
    },
    budget,
  );

  test.concurrent(
    "a token that acquires again after its own lock expired gets a greater fence, on any instance",
    async () => {
      const k = `direct-expiry:${suite.key("same-token")}`;
      const token = newToken();
      const first = await suite.adapter().acquire({ key: k, token, ttlMs: suite.shortTtlMs() });
      if (!first.ok) throw new Error("expected a grant");
      await sleep(suite.expiryWaitMs(first.ttlMs));
      expect(await suite.adapter().inspect(k)).toEqual({ held: false });
      const again = await suite.adapter().acquire({ key: k, token, ttlMs: suite.shortTtlMs() });
      if (!again.ok) throw new Error("expected the expired lock to be free");
      // A retry may reuse a fence only while its token still holds the key.
      expect(again.fence).toBeGreaterThan(first.fence);
      await sleep(suite.expiryWaitMs(again.ttlMs));
      const other = await suite.instance();
      const third = await other.adapter.acquire({ key: k, token, ttlMs: suite.shortTtlMs() });
      if (!third.ok) throw new Error("expected the expired lock to be free");
      expect(third.fence).toBeGreaterThan(again.fence);
      expect(await other.adapter.release({ key: k, token })).toEqual({ ok: true });
    },
    budget,
  );

  test.concurrent(
    "withLock extends the lease while the function outlives the TTL",
    async () => {
      const locker = suite.locker();
      const k = suite.key("auto-extend");
      const caps = suite.capabilities();
      // An extend is sent a third of the way into the local deadline (TTL minus any skew margin) and must
      // land before it: the TTL leaves room for a slow request of this run, on a loaded machine too.
      const ttlMs = Math.min(
        caps.ttl.maxMs,
        Math.ceil(Math.max(suite.shortTtlMs(), 1_000 + caps.clockSkewMarginMs, 6 * suite.transport.slowMs())),
      );
      let contenderSawFree = false;
      const result = await locker.withLock(
        k,
        async (lease) => {
          await sleep(lease.ttlMs * 1.3);
          contenderSawFree = (await locker.tryAcquire(k, { ttlMs })) !== null;
          await sleep(lease.ttlMs * 0.3);
          expect(lease.signal.aborted).toBe(false);
          return lease.fence;
        },
        { ttlMs },
      );
      expect(contenderSawFree).toBe(false);
      expect(result.ran).toBe(true);
      expect(await locker.inspect(k)).toEqual({ held: false });
    },
    budget,
  );

  test.concurrent(
    "withLock without auto-extend reports a lease lost while the function ran",
    async () => {
      const locker = suite.locker();
      const k = suite.key("overrun");
      const error = await locker
        .withLock(
          k,
          async (lease) => {
            await sleep(suite.expiryWaitMs(lease.ttlMs));
            return "done";
          },
          { ttlMs: suite.shortTtlMs(), autoExtend: false },
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockLostError);
    },
    budget,
  );
}
