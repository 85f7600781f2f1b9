import { expect, test } from "vitest";
import { BackendRejectedError, InvalidArgumentError, LockLostError, newToken } from "../../src/index.js";
import type { Suite } from "./context.js";

/**
 * Breaking a lock without its token (`forceRelease`, `edgelock break`). An
 * adapter without it is held to a clear refusal instead.
 */
export function forceRelease(suite: Suite): void {
  const ttl = () => suite.ttlMs(8);
  const direct = (label: string) => `direct:${suite.key(label)}`;

  test("forceRelease frees the holder named by its fence; the broken token's extend and release answer not_held", async () => {
    const adapter = suite.adapter();
    if (!adapter.forceRelease) {
      expect(suite.capabilities().forceRelease).toBeUndefined();
      await expect(suite.locker().forceRelease(suite.key("none"))).rejects.toBeInstanceOf(BackendRejectedError);
      return;
    }
    const k = direct("break");
    const dead = newToken();
    const grant = await adapter.acquire({ key: k, token: dead, ttlMs: ttl() });
    if (!grant.ok) throw new Error("expected a grant");
    expect(await adapter.forceRelease({ key: k, fence: grant.fence })).toEqual({ ok: true });
    expect(await adapter.inspect(k)).toEqual({ held: false });
    expect(await adapter.extend({ key: k, token: dead, ttlMs: ttl() })).toEqual({ ok: false, reason: "not_held" });
    expect(await adapter.release({ key: k, token: dead })).toEqual({ ok: false, reason: "not_held" });
    // The fence still rises for the next holder, and a repeated break finds nothing to free.
    const next = newToken();
    const second = await adapter.acquire({ key: k, token: next, ttlMs: ttl() });
    if (!second.ok) throw new Error("expected a grant after the break");
    expect(second.fence).toBeGreaterThan(grant.fence);
    expect(await adapter.forceRelease({ key: k, fence: grant.fence })).toEqual({ ok: false, reason: "not_held" });
    expect(await adapter.inspect(k)).toMatchObject({ held: true, fence: second.fence });
    expect(await adapter.release({ key: k, token: next })).toEqual({ ok: true });
    expect(await adapter.forceRelease({ key: k, fence: second.fence })).toEqual({ ok: false, reason: "not_held" });
  });

  test("the lock client breaks whoever holds the key: the broken lease is lost, a waiter on another client is granted", async () => {
    const k = suite.key("locker-break");
    const holderClient = suite.locker();
    const lease = await holderClient.tryAcquire(k, { ttlMs: ttl() });
    if (!lease) throw new Error("expected a lease");
    if (!suite.adapter().forceRelease) {
      await expect(holderClient.forceRelease(k)).rejects.toBeInstanceOf(BackendRejectedError);
      expect(await holderClient.inspect(k)).toMatchObject({ held: true, fence: lease.fence });
      await lease.release();
      return;
    }
    const waiterClient = suite.locker({ backoff: { baseMs: 20, maxMs: 100 } });
    const waiting = waiterClient.acquire(k, { ttlMs: ttl(), waitMs: ttl() * 4 });
    const operator = suite.locker();
    expect(await operator.forceRelease(k, { fence: lease.fence + 1 })).toEqual({ released: false });
    expect(await operator.forceRelease(k)).toEqual({ released: true, fence: lease.fence });
    const next = await waiting;
    expect(next.fence).toBeGreaterThan(lease.fence);
    await expect(lease.extend()).rejects.toBeInstanceOf(LockLostError);
    expect(lease.signal.aborted).toBe(true);
    await lease.release();
    expect(await operator.inspect(k)).toMatchObject({ held: true, fence: next.fence });
    await next.release();
    expect(await operator.forceRelease(k)).toEqual({ released: false });
  }, 60_000);

  test("forceRelease costs the requests the adapter declares, and refuses a bad fence before any request", async () => {
    const adapter = suite.adapter();
    const declared = suite.capabilities().forceRelease;
    if (!adapter.forceRelease) {
      expect(declared).toBeUndefined();
      return;
    }
    expect(declared?.requests).toBeGreaterThanOrEqual(0);
    const locker = suite.locker();
    const k = suite.key("break-cost");
    // Warm-up, as for the other operations (script loading, blob creation).
    const warm = await locker.tryAcquire(k, { ttlMs: ttl() });
    await locker.forceRelease(k, { fence: warm?.fence ?? 0 });
    const lease = await locker.tryAcquire(k, { ttlMs: ttl() });
    if (!lease) throw new Error("expected a lease");
    let before = suite.transport.requests;
    expect(await locker.forceRelease(k, { fence: lease.fence })).toEqual({ released: true, fence: lease.fence });
    const cost = suite.transport.requests - before;
    expect(cost).toBe(declared?.requests);
    before = suite.transport.requests;
    for (const fence of [0, -1, 1.5, Number.NaN, "1"]) {
      await expect(locker.forceRelease(k, { fence: fence as number })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await expect(locker.forceRelease("")).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(suite.transport.requests).toBe(before);
  });
}
