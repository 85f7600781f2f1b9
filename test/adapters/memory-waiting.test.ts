import { describe, expect, test } from "vitest";
import { createLocker, LockAbortedError, type LockAdapter, memoryAdapter, newToken } from "../../src/index.js";
import type { AdapterAcquireResult } from "../../src/types.js";
import { countingCalls } from "../support/counting-calls.js";

// The memory adapter's queue, driven through the adapter contract: the
// shared suite covers hand-off, timeouts and aborts through the lock client;
// these cases pin the order and the corners the suite cannot arrange.

const TTL = 60_000;

function fences(results: AdapterAcquireResult[]): number[] {
  return results.map((result) => (result.ok ? result.fence : -1));
}

async function hold(adapter: LockAdapter, key: string, ttlMs = TTL): Promise<{ token: string; fence: number }> {
  const token = newToken();
  const result = await adapter.acquire({ key, token, ttlMs });
  if (!result.ok) throw new Error("expected a grant");
  return { token, fence: result.fence };
}

describe("memory: waiting acquires are queued and handed the lock", () => {
  test("waiters are granted in the order they queued, each on the release before it", async () => {
    const adapter = memoryAdapter();
    const holder = await hold(adapter, "fifo");
    const tokens = Array.from({ length: 6 }, () => newToken());
    const granted: AdapterAcquireResult[] = [];
    const waits = tokens.map((token) =>
      adapter.acquire({ key: "fifo", token, ttlMs: TTL, waitMs: 30_000 }).then((result) => {
        granted.push(result);
        return result;
      }),
    );
    await adapter.release({ key: "fifo", token: holder.token });
    for (const [i, token] of tokens.entries()) {
      await expect.poll(() => granted.length).toBe(i + 1);
      // Nobody else is granted while this waiter holds the lock.
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(granted).toHaveLength(i + 1);
      expect(await adapter.release({ key: "fifo", token })).toEqual({ ok: true });
    }
    const results = await Promise.all(waits);
    expect(fences(results)).toEqual(tokens.map((_, i) => holder.fence + 1 + i));
    expect(await adapter.inspect("fifo")).toEqual({ held: false });
  });

  test("a holder that expires hands the lock to the oldest waiter at its expiry, not at the waiter's deadline", async () => {
    const adapter = memoryAdapter();
    const holder = await hold(adapter, "expiry", 200);
    const started = Date.now();
    const result = await adapter.acquire({ key: "expiry", token: newToken(), ttlMs: TTL, waitMs: 20_000 });
    expect(result).toMatchObject({ ok: true, fence: holder.fence + 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The wait is reported so that the lock client counts its TTL from the grant.
    expect(result.ok && result.waitedMs).toBeGreaterThanOrEqual(190);
  });

  test("a waiter whose wait runs out is refused with the holder's time left, and leaves the queue", async () => {
    const adapter = memoryAdapter();
    const holder = await hold(adapter, "deadline");
    const result = await adapter.acquire({ key: "deadline", token: newToken(), ttlMs: TTL, waitMs: 100 });
    expect(result).toMatchObject({ ok: false, reason: "held" });
    expect(!result.ok && result.retryAfterMs).toBeGreaterThan(TTL - 10_000);
    await adapter.release({ key: "deadline", token: holder.token });
    expect(await adapter.inspect("deadline")).toEqual({ held: false });
  });

  test("an aborted wait rejects with LockAbortedError and is never granted", async () => {
    const adapter = memoryAdapter();
    const holder = await hold(adapter, "abort");
    const controller = new AbortController();
    const pending = adapter.acquire({
      key: "abort",
      token: newToken(),
      ttlMs: TTL,
      waitMs: 30_000,
      signal: controller.signal,
    });
    controller.abort(new Error("caller left"));
    await expect(pending).rejects.toBeInstanceOf(LockAbortedError);
    await adapter.release({ key: "abort", token: holder.token });
    expect(await adapter.inspect("abort")).toEqual({ held: false });
  });

  test("a call with the same token takes the queued wait's place; a release with it withdraws the wait", async () => {
    const adapter = memoryAdapter();
    const holder = await hold(adapter, "same-token");
    const token = newToken();
    const first = adapter.acquire({ key: "same-token", token, ttlMs: TTL, waitMs: 30_000 });
    const retry = adapter.acquire({ key: "same-token", token, ttlMs: TTL, waitMs: 30_000 });
    expect(await first).toEqual({ ok: false, reason: "held" });
    // The retry gave up its token: the lock must not go to it after the holder leaves.
    expect(await adapter.release({ key: "same-token", token })).toEqual({ ok: false, reason: "not_held" });
    expect(await retry).toEqual({ ok: false, reason: "held" });
    await adapter.release({ key: "same-token", token: holder.token });
    expect(await adapter.inspect("same-token")).toEqual({ held: false });
  });

  test("a newcomer finding an expired holder does not barge past the queue", async () => {
    let clock = 1_000_000;
    const adapter = memoryAdapter({ now: () => clock });
    const holder = await hold(adapter, "barge", 100);
    const waiting = adapter.acquire({ key: "barge", token: newToken(), ttlMs: TTL, waitMs: 30_000 });
    // The holder has expired on the adapter's clock before its expiry timer ran.
    clock += 200;
    const newcomer = await adapter.acquire({ key: "barge", token: newToken(), ttlMs: TTL });
    expect(newcomer).toMatchObject({ ok: false, reason: "held" });
    expect(await waiting).toMatchObject({ ok: true, fence: holder.fence + 1, waitedMs: 200 });
  });

  test("a break hands the lock to the oldest waiter", async () => {
    const adapter = memoryAdapter();
    const holder = await hold(adapter, "break");
    const waiting = adapter.acquire({ key: "break", token: newToken(), ttlMs: TTL, waitMs: 30_000 });
    expect(await adapter.forceRelease?.({ key: "break", fence: holder.fence })).toEqual({ ok: true });
    expect(await waiting).toMatchObject({ ok: true, fence: holder.fence + 1 });
  });

  test("through the lock client a waiting acquire is one adapter call, granted on the release", async () => {
    const { adapter, calls } = countingCalls(memoryAdapter());
    const locker = createLocker({ adapter });
    const holder = await locker.acquire("client", { ttlMs: TTL });
    const before = calls();
    const pending = locker.acquire("client", { ttlMs: TTL, waitMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls() - before).toBe(1);
    await holder.release();
    const lease = await pending;
    // The waiting acquire and the holder's release: no poll in between.
    expect(calls() - before).toBe(2);
    expect(lease.fence).toBe(holder.fence + 1);
    await lease.release();
  });

  test("an acquire that does not queue never reads its signal (the lock client makes it on first read)", async () => {
    const adapter = memoryAdapter();
    let reads = 0;
    const request = (token: string, waitMs?: number) =>
      Object.defineProperty({ key: "lazy", token, ttlMs: TTL, waitMs }, "signal", {
        get: () => {
          reads++;
          return undefined;
        },
      });
    const holder = newToken();
    expect(await adapter.acquire(request(holder))).toMatchObject({ ok: true });
    expect(await adapter.acquire(request(newToken()))).toMatchObject({ ok: false });
    expect(await adapter.acquire(request(holder, 1_000))).toMatchObject({ ok: true });
    expect(reads).toBe(0);
    const waiting = adapter.acquire(request(newToken(), 1_000));
    expect(reads).toBe(1);
    await adapter.release({ key: "lazy", token: holder });
    expect(await waiting).toMatchObject({ ok: true });
  });
});
