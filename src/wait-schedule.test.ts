import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { memoryAdapter } from "../adapters/memory/index.js";
import { createLocker, LockAbortedError, type LockAdapter, LockTimeoutError } from "./index.js";
import type { AdapterPollWaitRequest } from "./types.js";
import { WaitSchedule, type WaitScheduleOptions } from "./wait-schedule.js";

const KEY = "k";
const held = (retryAfterMs?: number) => ({ ok: false, reason: "held", retryAfterMs }) as const;

/** Fake timers and clock: each case advances time itself and sees exactly when a sleep ends. */
describe("WaitSchedule (fake clock)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const schedule = (options: WaitScheduleOptions = {}) => new WaitSchedule({ random: () => 0, ...options });
  const request = (overrides: Partial<AdapterPollWaitRequest> = {}): AdapterPollWaitRequest => ({
    key: KEY,
    token: "waiter",
    refusal: held(60_000),
    fallbackMs: 300,
    remainingMs: 60_000,
    ...overrides,
  });

  /** Milliseconds until `sleep` resolves, advancing the fake clock 1 ms at a time. */
  async function sleptFor(sleep: Promise<void>, limit = 70_000): Promise<number> {
    let done = false;
    void sleep.then(() => {
      done = true;
    });
    const started = Date.now();
    await vi.advanceTimersByTimeAsync(0);
    while (!done) {
      if (Date.now() - started > limit) throw new Error("the sleep never ended");
      await vi.advanceTimersByTimeAsync(1);
    }
    return Date.now() - started;
  }

  /** A schedule that has seen holds of `holdMs` and a holder granted `agoMs` ago. */
  function learnt(holdMs: number, agoMs: number, options?: WaitScheduleOptions): WaitSchedule {
    const s = schedule(options);
    s.refused(KEY, "someone", { fence: 7, acquiredAt: Date.now() - agoMs, lastHeldMs: holdMs });
    return s;
  }

  test("knowing nothing of the key, it sleeps the lock client's own backoff", async () => {
    expect(await sleptFor(schedule().wait(request({ fallbackMs: 300 })))).toBe(300);
  });

  test("polls near the holder's expected release: its grant time plus the typical hold", async () => {
    const s = learnt(50, 10);
    expect(s.estimates(KEY).holdMs).toBe(50);
    expect(await sleptFor(s.wait(request()))).toBe(40);
  });

  test("never past the holder's expiry (retryAfterMs), so a dead holder is noticed then", async () => {
    const s = learnt(5_000, 0);
    expect(await sleptFor(s.wait(request({ refusal: held(120) })))).toBe(120);
  });

  test("never past the caller's wait", async () => {
    const s = learnt(5_000, 0);
    expect(await sleptFor(s.wait(request({ remainingMs: 80 })))).toBe(80);
    // Nothing left: at once, not at the floor.
    expect(await sleptFor(s.wait(request({ remainingMs: 0 })))).toBe(0);
  });

  test("never more often than the floor, even when the release looks overdue", async () => {
    // Held for 1 s already against a typical 10 ms hold: the guess is "any moment now".
    const s = learnt(10, 1_000, { floorMs: 7 });
    expect(await sleptFor(s.wait(request()))).toBe(7);
  });

  test("never longer than maxGapMs while a holder elsewhere keeps the lock", async () => {
    const s = learnt(30_000, 0, { maxGapMs: 400 });
    expect(await sleptFor(s.wait(request()))).toBe(400);
  });

  test("a waiter beaten to the release it aimed at spreads out over later hand-offs", async () => {
    let next = 0;
    const s = learnt(50, 50, { random: () => next });
    s.refused(KEY, "other", { fence: 8, acquiredAt: Date.now(), lastHeldMs: 50 }); // period: 50 ms
    expect(s.estimates(KEY).periodMs).toBe(50);
    await sleptFor(s.wait(request())); // aimed at slot 0
    s.refused(KEY, "waiter", { fence: 9, acquiredAt: Date.now(), lastHeldMs: 50 }); // someone else took it
    expect(s.estimates(KEY).spread).toBe(2);
    next = 0.99; // the last of 2 slots, and the largest jitter
    // Release in 50 ms, then one more period, plus up to 5 ms of jitter.
    expect(await sleptFor(s.wait(request()))).toBeGreaterThanOrEqual(99);
    expect(s.estimates(KEY).spread).toBe(2);
  });

  test("a waiter that aimed at a later hand-off widens the spread only when someone else took that one", async () => {
    let next = 0;
    const s = learnt(50, 50, { random: () => next });
    s.refused(KEY, "other", { fence: 8, acquiredAt: Date.now(), lastHeldMs: 50 });
    await sleptFor(s.wait(request())); // aimed at slot 0: the release after fence 8
    s.refused(KEY, "waiter", { fence: 9, acquiredAt: Date.now(), lastHeldMs: 50 }); // beaten: spread 2
    expect(s.estimates(KEY).spread).toBe(2);
    next = 0.6; // slot 1 of 2: the second release after fence 9
    await sleptFor(s.wait(request()));
    // Refused by fence 10: it came before the release it aimed at (fence 11's), nobody took its turn.
    s.refused(KEY, "waiter", { fence: 10, acquiredAt: Date.now(), lastHeldMs: 50 });
    expect(s.estimates(KEY).spread).toBe(2);
    await sleptFor(s.wait(request())); // slot 1 again: the second release after fence 10
    // Refused by fence 12: its turn (fence 12's grant) went to someone else.
    s.refused(KEY, "waiter", { fence: 12, acquiredAt: Date.now(), lastHeldMs: 50 });
    expect(s.estimates(KEY).spread).toBe(3);
  });

  test("a refusal that shows nothing of the holder (Azure's) counts as beaten at any slot", async () => {
    let next = 0;
    const s = learnt(50, 50, { random: () => next });
    s.refused(KEY, "other", { fence: 8, acquiredAt: Date.now(), lastHeldMs: 50 });
    await sleptFor(s.wait(request()));
    s.refused(KEY, "waiter", undefined);
    expect(s.estimates(KEY).spread).toBe(2);
    next = 0.6; // slot 1 of 2
    await sleptFor(s.wait(request()));
    s.refused(KEY, "waiter", undefined);
    expect(s.estimates(KEY).spread).toBe(3);
  });

  test("a grant that finds the lock long idle narrows the spread again", async () => {
    const s = learnt(50, 0);
    s.refused(KEY, "other", { fence: 8, acquiredAt: Date.now() + 50, lastHeldMs: 50 });
    s.refused(KEY, "a", { fence: 9, acquiredAt: Date.now() + 100 }); // "a" had no plan yet: no change
    await sleptFor(s.wait(request({ token: "a" })));
    s.refused(KEY, "a", { fence: 10, acquiredAt: Date.now() + 150 });
    const wide = s.estimates(KEY).spread;
    expect(wide).toBeGreaterThan(1);
    await sleptFor(s.wait(request({ token: "a" })));
    s.granted(KEY, "a", 11, Date.now() + 10_000, { releasedAt: Date.now() - 200, lastHeldMs: 50 });
    expect(s.estimates(KEY).spread).toBeLessThan(wide);
  });

  test("a local release wakes the oldest local waiter at once; the others wait for its outcome", async () => {
    const s = schedule({ maxLocalGapMs: 5_000 });
    s.granted(KEY, "holder", 1, Date.now() + 30_000);
    let firstDone = false;
    let secondDone = false;
    const first = s.wait(request({ token: "first", refusal: held(30_000) })).then(() => {
      firstDone = true;
    });
    const second = s.wait(request({ token: "second", refusal: held(30_000) })).then(() => {
      secondDone = true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect([firstDone, secondDone]).toEqual([false, false]); // no polling against a local holder
    s.released(KEY, "holder");
    await vi.advanceTimersByTimeAsync(0);
    expect([firstDone, secondDone]).toEqual([true, false]);
    s.granted(KEY, "first", 2, Date.now() + 30_000); // the woken one got it
    await vi.advanceTimersByTimeAsync(3_000);
    expect(secondDone).toBe(false);
    // Released through another instance, say: the local bound still ends the sleep.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(secondDone).toBe(true);
    await Promise.all([first, second]);
  });

  test("if the woken local waiter is refused, the others go back to their own schedule", async () => {
    const s = schedule();
    s.granted(KEY, "holder", 1, Date.now() + 30_000);
    const first = s.wait(request({ token: "first", refusal: held(30_000) }));
    const second = s.wait(request({ token: "second", refusal: held(30_000), fallbackMs: 50 }));
    s.released(KEY, "holder");
    await first;
    s.refused(KEY, "first", { fence: 2, acquiredAt: Date.now() }); // another instance took it
    expect(await sleptFor(second)).toBe(50);
  });

  test("an abort rejects the sleep at once with LockAbortedError", async () => {
    const s = learnt(10_000, 0);
    const controller = new AbortController();
    const sleep = s.wait(request({ signal: controller.signal }));
    const outcome = sleep.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    controller.abort(new Error("gave up"));
    expect(await outcome).toBeInstanceOf(LockAbortedError);
    await expect(s.wait(request({ signal: AbortSignal.abort() }))).rejects.toBeInstanceOf(LockAbortedError);
  });
});

describe("the lock client sleeps through the adapter's pollWait", () => {
  /** Memory as a polling backend, with a WaitSchedule fed as the real adapters feed theirs, recording every sleep it is asked for. */
  function scheduled(): { adapter: LockAdapter; asked: AdapterPollWaitRequest[] } {
    const base = memoryAdapter();
    const schedule = new WaitSchedule();
    const asked: AdapterPollWaitRequest[] = [];
    const adapter: LockAdapter = {
      ...base,
      // A polling backend: the lock client sleeps between refused attempts.
      capabilities: { ...base.capabilities, pushWakeups: false },
      acquire: async (request) => {
        const result = await base.acquire(request);
        if (result.ok) schedule.granted(request.key, request.token, result.fence, result.expiresAt);
        else schedule.refused(request.key, request.token, undefined);
        return result;
      },
      release: async (request) => {
        try {
          return await base.release(request);
        } finally {
          schedule.released(request.key, request.token);
        }
      },
      pollWait: (request) => {
        asked.push(request);
        return schedule.wait(request);
      },
    };
    return { adapter, asked };
  }

  test("a local release hands the lock to the waiter at once, without polling in between", async () => {
    const { adapter, asked } = scheduled();
    const locker = createLocker({ adapter });
    const holder = await locker.tryAcquire(KEY, { ttlMs: 60_000 });
    const pending = locker.acquire(KEY, { waitMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(asked).toHaveLength(1);
    expect(asked[0]?.remainingMs).toBeLessThanOrEqual(30_000);
    expect(asked[0]?.refusal.ok).toBe(false);
    const releasedAt = Date.now();
    await holder?.release();
    const lease = await pending;
    // Far sooner than the 5 s local bound (or a 1 s backoff); a loaded machine's timers are late, not this late.
    expect(Date.now() - releasedAt).toBeLessThan(1_000);
    expect(asked).toHaveLength(1);
    await lease.release();
  });

  test("waitMs still ends the wait: LockTimeoutError on time, the deadline passed to every sleep", async () => {
    const { adapter, asked } = scheduled();
    const locker = createLocker({ adapter });
    await locker.tryAcquire(KEY, { ttlMs: 60_000 });
    const started = Date.now();
    const error = await locker.acquire(KEY, { waitMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(300 + 600);
    expect(asked.length).toBeGreaterThan(0);
    for (const request of asked) expect(request.remainingMs).toBeLessThanOrEqual(300);
  });
});
