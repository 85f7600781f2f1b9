import { expect, test } from "vitest";
import { type Lease, LockAbortedError, LockTimeoutError } from "../../src/index.js";
import type { Suite } from "./context.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Many callers, one key. */
export function contention(suite: Suite): void {
  const ttl = () => suite.ttlMs(8);

  test("20 concurrent contenders on one key: exactly one lease", async () => {
    const locker = suite.locker();
    const k = suite.key("race");
    const leases = await Promise.all(Array.from({ length: 20 }, () => locker.tryAcquire(k, { ttlMs: ttl() })));
    const winners = leases.filter((lease): lease is Lease => lease !== null);
    expect(winners).toHaveLength(1);
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: winners[0]?.fence });
    await winners[0]?.release();
  }, 30_000);

  test("acquire with a wait gets the lock soon after the holder releases", async () => {
    const locker = suite.locker({ backoff: { baseMs: 20, maxMs: 100 } });
    const k = suite.key("handoff");
    const holder = await locker.tryAcquire(k, { ttlMs: ttl() });
    if (!holder) throw new Error("expected a lease");
    const waiting = locker.acquire(k, { ttlMs: ttl(), waitMs: 10_000 });
    await sleep(300);
    const releasedAt = Date.now();
    await holder.release();
    const lease = await waiting;
    // Push adapters are woken; polling adapters come back within their backoff cap.
    expect(Date.now() - releasedAt).toBeLessThan(suite.capabilities().pushWakeups ? 500 : 1_000);
    expect(lease.fence).toBeGreaterThan(holder.fence);
    await lease.release();
  }, 30_000);

  test("acquire with a wait times out on time with LockTimeoutError, holding nothing", async () => {
    const locker = suite.locker();
    const k = suite.key("timeout");
    const holder = await locker.tryAcquire(k, { ttlMs: ttl() });
    const started = Date.now();
    const error = await locker.acquire(k, { ttlMs: ttl(), waitMs: 400 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1_500);
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: holder?.fence });
    await holder?.release();
    expect(await locker.inspect(k)).toEqual({ held: false });
  }, 30_000);

  test("an AbortSignal cancels a waiting acquire promptly and leaves nothing held", async () => {
    const locker = suite.locker();
    const k = suite.key("abort");
    const holder = await locker.tryAcquire(k, { ttlMs: ttl() });
    if (!holder) throw new Error("expected a lease");
    const controller = new AbortController();
    const waiting = locker.acquire(k, { ttlMs: ttl(), waitMs: 20_000, signal: controller.signal });
    await sleep(200);
    const abortedAt = Date.now();
    controller.abort(new Error("caller gave up"));
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockAbortedError);
    expect(Date.now() - abortedAt).toBeLessThan(250);
    await holder.release();
    // A cancelled waiter must not be handed the lock afterwards.
    await sleep(300);
    expect(await locker.inspect(k)).toEqual({ held: false });
    const next = await locker.tryAcquire(k, { ttlMs: ttl() });
    expect(next).not.toBeNull();
    await next?.release();
  }, 30_000);

  test("an already-aborted signal rejects before any request", async () => {
    const locker = suite.locker();
    const before = suite.transport.requests;
    const error = await locker
      .acquire(suite.key("pre-aborted"), { ttlMs: ttl(), signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockAbortedError);
    expect(suite.transport.requests).toBe(before);
  });

  test("mutual exclusion under stress: read-sleep-write on a shared counter stays exact, fences rise in grant order", async () => {
    const locker = suite.locker({ backoff: { baseMs: 5, maxMs: 50 } });
    const k = suite.key("stress");
    const workers = 4;
    const iterations = 8;
    let counter = 0;
    let inside = 0;
    const fences: number[] = [];
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let i = 0; i < iterations; i++) {
          const lease = await locker.acquire(k, { ttlMs: ttl(), waitMs: 60_000 });
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
  }, 120_000);
}
