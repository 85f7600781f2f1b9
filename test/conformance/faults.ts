import { expect, test } from "vitest";
import { BackendError, type Lease } from "../../src/index.js";
import type { Suite } from "./context.js";

/**
 * Network faults between the client and a real backend: the request is
 * applied, the answer is lost or late. The client must resolve the outcome
 * with its owner token, never guess.
 */
export function faults(suite: Suite): void {
  const ttl = () => suite.ttlMs(8);

  test("a lost acquire response still ends with the caller holding the lock, once", async () => {
    const locker = suite.locker();
    const k = suite.key("lost-acquire");
    const injected = suite.transport.injected;
    suite.transport.loseNext(1);
    const lease = await locker.tryAcquire(k, { ttlMs: ttl() });
    expect(suite.transport.injected).toBe(injected + 1);
    if (!lease) throw new Error("the caller holds the lock but was told it did not");
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: lease.fence });
    expect(await locker.tryAcquire(k, { ttlMs: ttl() })).toBeNull();
    await lease.release();
    expect(await locker.inspect(k)).toEqual({ held: false });
  });

  test("a late acquire response (past the request timeout) is resolved with the same token", async () => {
    const locker = suite.locker({ requestTimeoutMs: 1_000 });
    const k = suite.key("late-acquire");
    const injected = suite.transport.injected;
    suite.transport.delayNext(3_000);
    const lease = await locker.tryAcquire(k, { ttlMs: ttl() });
    expect(suite.transport.injected).toBe(injected + 1);
    if (!lease) throw new Error("the caller holds the lock but was told it did not");
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: lease.fence });
    await lease.release();
  }, 30_000);

  test("a lost acquire response amid contenders: exactly one holder, and it is the one told so", async () => {
    const locker = suite.locker();
    const k = suite.key("lost-race");
    suite.transport.loseNext(1);
    const leases = await Promise.all(Array.from({ length: 6 }, () => locker.tryAcquire(k, { ttlMs: ttl() })));
    const winners = leases.filter((lease): lease is Lease => lease !== null);
    expect(winners).toHaveLength(1);
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: winners[0]?.fence });
    await winners[0]?.release();
    expect(await locker.inspect(k)).toEqual({ held: false });
  }, 30_000);

  test("lost extend and release responses: extend keeps the lease, release still frees it", async () => {
    const locker = suite.locker();
    const k = suite.key("lost-extend");
    const lease = await locker.tryAcquire(k, { ttlMs: ttl() });
    if (!lease) throw new Error("expected a lease");
    const injected = suite.transport.injected;
    suite.transport.loseNext(1);
    await lease.extend();
    expect(lease.signal.aborted).toBe(false);
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: lease.fence });
    suite.transport.loseNext(1);
    await lease.release();
    expect(suite.transport.injected).toBe(injected + 2);
    expect(await locker.inspect(k)).toEqual({ held: false });
  });

  test("when every retry loses its answer, acquire fails with a BackendError and leaves no orphan", async () => {
    const locker = suite.locker({ retries: 2 });
    const k = suite.key("lost-all");
    suite.transport.loseNext(3);
    const error = await locker.tryAcquire(k, { ttlMs: ttl() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).maybeApplied).toBe(true);
    // The clean-up release runs in the background, so the caller's time limit holds.
    await expect.poll(() => locker.inspect(k), { timeout: 10_000 }).toEqual({ held: false });
  });
}
