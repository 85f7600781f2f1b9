import { expect, test } from "vitest";
import { BackendError, type Lease, LockAbortedError } from "../../src/index.js";
import { sleep } from "../support/timing.js";
import { type Instance, SPREADS, type Suite } from "./context.js";

/**
 * Network faults between the client and a real backend: the request is
 * applied, the answer is lost or late. The client must resolve the outcome
 * with its owner token, never guess. Every case asserts that its fault fired,
 * and checks the outcome from another instance too (the main one, or a fresh
 * one as another process would).
 */
export function faults(suite: Suite): void {
  const ttl = () => suite.ttlMs(8);
  /** The faulted instance and an observer: one instance, or two. */
  const pair = async (spread: (typeof SPREADS)[number]): Promise<[Instance, Instance]> => {
    const [faulted, observer] = await suite.contenders(2, spread);
    if (!faulted || !observer) throw new Error("expected two instances");
    return [faulted, observer];
  };

  for (const spread of SPREADS) {
    test(`a lost acquire response still ends with the caller holding the lock, once (${spread})`, async () => {
      const [faulted, observer] = await pair(spread);
      const k = suite.key("lost-acquire");
      const injected = faulted.transport.injected;
      faulted.transport.loseNext(1);
      const lease = await faulted.locker().tryAcquire(k, { ttlMs: ttl() });
      expect(faulted.transport.injected).toBe(injected + 1);
      if (!lease) throw new Error("the caller holds the lock but was told it did not");
      expect(await observer.locker().inspect(k)).toMatchObject({ held: true, fence: lease.fence });
      expect(await observer.locker().tryAcquire(k, { ttlMs: ttl() })).toBeNull();
      await lease.release();
      expect(await observer.locker().inspect(k)).toEqual({ held: false });
    });

    test(`a late acquire response (past the request timeout) is resolved with the same token (${spread})`, async () => {
      const [faulted, observer] = await pair(spread);
      const k = suite.key("late-acquire");
      const injected = faulted.transport.injected;
      faulted.transport.delayNext(3_000);
      const lease = await faulted.locker({ requestTimeoutMs: 1_000 }).tryAcquire(k, { ttlMs: ttl() });
      expect(faulted.transport.injected).toBe(injected + 1);
      if (!lease) throw new Error("the caller holds the lock but was told it did not");
      expect(await observer.locker().inspect(k)).toMatchObject({ held: true, fence: lease.fence });
      await lease.release();
      expect(await observer.locker().inspect(k)).toEqual({ held: false });
    }, 30_000);

    test(`a lost acquire response amid contenders: exactly one holder, and it is the one told so (${spread})`, async () => {
      const contenders = await suite.contenders(6, spread);
      const faulted = contenders[0];
      if (!faulted) throw new Error("expected contenders");
      const k = suite.key("lost-race");
      const injected = faulted.transport.injected;
      faulted.transport.loseNext(1);
      const leases = await Promise.all(contenders.map((c) => c.locker().tryAcquire(k, { ttlMs: ttl() })));
      expect(faulted.transport.injected).toBe(injected + 1);
      const winners = leases.filter((lease): lease is Lease => lease !== null);
      expect(winners).toHaveLength(1);
      const observer = contenders[contenders.length - 1] ?? faulted;
      expect(await observer.locker().inspect(k)).toMatchObject({ held: true, fence: winners[0]?.fence });
      await winners[0]?.release();
      expect(await observer.locker().inspect(k)).toEqual({ held: false });
    }, 30_000);

    test(`lost extend and release responses: extend keeps the lease, release still frees it (${spread})`, async () => {
      const [faulted, observer] = await pair(spread);
      const k = suite.key("lost-extend");
      const lease = await faulted.locker().tryAcquire(k, { ttlMs: ttl() });
      if (!lease) throw new Error("expected a lease");
      const injected = faulted.transport.injected;
      faulted.transport.loseNext(1);
      await lease.extend();
      expect(faulted.transport.injected).toBe(injected + 1);
      expect(lease.signal.aborted).toBe(false);
      expect(await observer.locker().inspect(k)).toMatchObject({ held: true, fence: lease.fence });
      faulted.transport.loseNext(1);
      await lease.release();
      expect(faulted.transport.injected).toBe(injected + 2);
      expect(await observer.locker().inspect(k)).toEqual({ held: false });
    });

    test(`a cancelled wait whose request reaches the backend only after the holder released: the late grant is given back (${spread})`, async () => {
      const [faulted, holding] = await pair(spread);
      const k = suite.key("late-grant");
      const holder = await holding.locker().tryAcquire(k, { ttlMs: ttl() });
      if (!holder) throw new Error("expected a lease");
      // Long enough for a slow request of this run; the held one arrives halfway through.
      const requestTimeoutMs = Math.ceil(Math.max(1_000, 4 * faulted.transport.slowMs()));
      const injected = faulted.transport.injected;
      faulted.transport.holdNext(requestTimeoutMs / 2);
      const controller = new AbortController();
      const pending = faulted
        .locker({ requestTimeoutMs })
        .acquire(k, { ttlMs: ttl(), waitMs: 20_000, signal: controller.signal })
        .catch((e: unknown) => e);
      await expect.poll(() => faulted.transport.injected, { timeout: 10_000 }).toBe(injected + 1);
      const abortedAt = Date.now();
      controller.abort(new Error("caller gave up"));
      expect(await pending).toBeInstanceOf(LockAbortedError);
      await holder.release();
      // The request is applied now, to a free key: a grant to a caller that left.
      await faulted.transport.heldDelivered();
      // Given back by its answer, or (where the answer is unknown) by the
      // release one request timeout later: then a contender gets the key.
      let next: Lease | null = null;
      await expect
        .poll(
          async () => {
            next = await holding.locker().tryAcquire(k, { ttlMs: ttl() });
            return next !== null;
          },
          { timeout: requestTimeoutMs + 3_000, interval: 100 },
        )
        .toBe(true);
      expect((next as Lease | null)?.fence).toBeGreaterThan(holder.fence);
      await (next as Lease | null)?.release();
      // The give-back's spare release (at most two request timeouts after the
      // abort) must not land in the next case on this wire.
      await sleep(Math.max(0, abortedAt + 2 * requestTimeoutMs + 500 - Date.now()));
    }, 60_000);

    test(`when every retry loses its answer, acquire fails with a BackendError and leaves no orphan (${spread})`, async () => {
      const [faulted, observer] = await pair(spread);
      const k = suite.key("lost-all");
      const injected = faulted.transport.injected;
      faulted.transport.loseNext(3);
      const error = await faulted
        .locker({ retries: 2 })
        .tryAcquire(k, { ttlMs: ttl() })
        .catch((e: unknown) => e);
      expect(faulted.transport.injected).toBe(injected + 3);
      expect(error).toBeInstanceOf(BackendError);
      expect((error as BackendError).maybeApplied).toBe(true);
      // The clean-up release runs in the background, so the caller's time limit holds.
      await expect.poll(() => observer.locker().inspect(k), { timeout: 10_000 }).toEqual({ held: false });
    });
  }
}
