import { expect, test } from "vitest";
import { type Lease, LockAbortedError, LockTimeoutError } from "../../src/index.js";
import { sleep } from "../support/timing.js";
import { type Instance, SPREADS, type Suite } from "./context.js";

/** Resolves with `promise`, or fails the case with `what` if it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A bound on a wait that allows for a slow request of this run, not an idle machine's. */
const slack = (...instances: Instance[]) => 3 * Math.max(...instances.map((i) => i.transport.slowMs())) + 500;

/** Many callers, one key: each case once through one instance, once through one instance per caller. */
export function contention(suite: Suite): void {
  const ttl = () => suite.ttlMs(8);

  for (const spread of SPREADS) {
    test(`20 concurrent contenders on one key: exactly one lease (${spread})`, async () => {
      const contenders = await suite.contenders(20, spread);
      const k = suite.key("race");
      const leases = await Promise.all(contenders.map((c) => c.locker().tryAcquire(k, { ttlMs: ttl() })));
      const winners = leases.filter((lease): lease is Lease => lease !== null);
      expect(winners).toHaveLength(1);
      expect(await suite.locker().inspect(k)).toMatchObject({ held: true, fence: winners[0]?.fence });
      await winners[0]?.release();
    }, 60_000);

    test(`acquire with a wait is handed the lock when the holder releases, long before its expiry (${spread})`, async () => {
      const [holding, waiting] = await suite.contenders(2, spread);
      if (!holding || !waiting) throw new Error("expected two instances");
      const backoff = { baseMs: 20, maxMs: 100 };
      const k = suite.key("handoff");
      const holder = await holding.locker().tryAcquire(k, { ttlMs: ttl() });
      if (!holder) throw new Error("expected a lease");
      const calls = waiting.calls();
      const sleeps = waiting.sleeps();
      const requests = waiting.transport.requests;
      const backend = suite.target.backendRequests?.();
      const pending = waiting.locker({ backoff }).acquire(k, { ttlMs: ttl(), waitMs: 30_000 });
      let released = false;
      // On one instance the holder's release is a call there too.
      const waiterCalls = () => waiting.calls() - calls - (waiting === holding && released ? 1 : 0);
      if (suite.capabilities().pushWakeups) {
        // Waits inside the backend: one call, no polling, however long the holder keeps the lock;
        // as many requests as the adapter declares for one wait (a blocking call after a refusal is two).
        await within(waiting.called(calls + 1), 10_000, "the waiting acquire");
        await sleep(300);
        expect(waiterCalls()).toBe(1);
        const caps = suite.capabilities();
        expect(waiting.transport.requests - requests).toBeLessThanOrEqual(
          caps.requestsPerPushWait ?? caps.requestsPerOperation.acquire,
        );
      } else {
        // Polls: its second attempt, or its entering the adapter's own sleep between polls (which may
        // last until the release, etcd's watch), is the signal that it is waiting, not a sleep.
        const polling = Promise.race([waiting.called(calls + 2), waiting.slept(sleeps + 1)]);
        await within(polling, 10_000, "a second poll of the waiting acquire");
      }
      const waitedFor = {
        client: waiting.transport.requests - requests,
        backend: backend === undefined ? 0 : (suite.target.backendRequests?.() ?? 0) - backend,
      };
      await holder.release();
      released = true;
      const lease = await pending;
      const grantedAt = Date.now();
      // Granted because of the release, not the holder's expiry: well before that.
      expect(grantedAt).toBeLessThan(holder.expiresAt);
      if (suite.capabilities().pushWakeups) expect(waiterCalls()).toBe(1);
      expect(lease.fence).toBeGreaterThan(holder.fence);
      if (backend !== undefined) {
        console.info(
          `${suite.name}: a waiting acquire (${spread}), until the holder released, cost ${waitedFor.client} client ` +
            `request(s) and ${waitedFor.backend} backend request(s) on the service's side`,
        );
      }
      await lease.release();
    }, 60_000);

    test(`acquire with a wait times out on time with LockTimeoutError, holding nothing (${spread})`, async () => {
      const [holding, waiting] = await suite.contenders(2, spread);
      if (!holding || !waiting) throw new Error("expected two instances");
      const k = suite.key("timeout");
      const holder = await holding.locker().tryAcquire(k, { ttlMs: ttl() });
      if (!holder) throw new Error("expected a lease");
      const waitMs = 400;
      const started = Date.now();
      const error = await waiting
        .locker()
        .acquire(k, { ttlMs: ttl(), waitMs })
        .catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect(elapsed).toBeGreaterThanOrEqual(waitMs - 10);
      expect(elapsed).toBeLessThan(waitMs + slack(waiting));
      expect(await holding.locker().inspect(k)).toMatchObject({ held: true, fence: holder.fence });
      await holder.release();
      expect(await waiting.locker().inspect(k)).toEqual({ held: false });
    }, 30_000);

    test(`an AbortSignal cancels a waiting acquire promptly and leaves nothing held (${spread})`, async () => {
      const [holding, waiting] = await suite.contenders(2, spread);
      if (!holding || !waiting) throw new Error("expected two instances");
      const k = suite.key("abort");
      const holder = await holding.locker().tryAcquire(k, { ttlMs: ttl() });
      if (!holder) throw new Error("expected a lease");
      // The give-back after an abort ends within two request timeouts: short ones keep the case short.
      const requestTimeoutMs = Math.ceil(Math.max(1_000, 4 * waiting.transport.slowMs()));
      const controller = new AbortController();
      const calls = waiting.calls();
      const pending = waiting
        .locker({ requestTimeoutMs })
        .acquire(k, { ttlMs: ttl(), waitMs: 20_000, signal: controller.signal })
        .catch((e: unknown) => e);
      await within(waiting.called(calls + 1), 10_000, "the waiting acquire");
      await sleep(100);
      const abortedAt = Date.now();
      controller.abort(new Error("caller gave up"));
      const error = await pending;
      expect(error).toBeInstanceOf(LockAbortedError);
      expect(Date.now() - abortedAt).toBeLessThan(slack(waiting));
      await holder.release();
      // A cancelled waiter must not be handed the lock afterwards, also once
      // its give-back (at most two request timeouts) is over.
      await sleep(Math.max(300, abortedAt + 2 * requestTimeoutMs + 500 - Date.now()));
      expect(await holding.locker().inspect(k)).toEqual({ held: false });
      const next = await holding.locker().tryAcquire(k, { ttlMs: ttl() });
      expect(next).not.toBeNull();
      await next?.release();
    }, 30_000);

    test(`mutual exclusion under stress: read-sleep-write on a shared counter stays exact, fences rise in grant order (${spread})`, async () => {
      const workers = 4;
      const iterations = 8;
      const contenders = await suite.contenders(workers, spread);
      const k = suite.key("stress");
      let counter = 0;
      let inside = 0;
      const fences: number[] = [];
      await Promise.all(
        contenders.map(async (contender) => {
          const locker = contender.locker({ backoff: { baseMs: 5, maxMs: 50 } });
          for (let i = 0; i < iterations; i++) {
            const lease = await locker.acquire(k, { ttlMs: ttl(), waitMs: 100_000 });
            inside++;
            expect(inside).toBe(1);
            fences.push(lease.fence);
            const read = counter;
            await sleep(2);
            counter = read + 1;
            inside--;
            await lease.release();
          }
        }),
      );
      expect(counter).toBe(workers * iterations);
      for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1] ?? 0);
    }, 150_000);
  }

  test("an already-aborted signal rejects before any request", async () => {
    const locker = suite.locker();
    const before = suite.transport.requests;
    const calls = suite.main().calls();
    const error = await locker
      .acquire(suite.key("pre-aborted"), { ttlMs: ttl(), signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockAbortedError);
    expect(suite.transport.requests).toBe(before);
    expect(suite.main().calls()).toBe(calls);
  });
}
