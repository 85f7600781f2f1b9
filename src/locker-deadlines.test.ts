import { describe, expect, test } from "vitest";
import { memoryAdapter } from "../adapters/memory/index.js";
import { sleep } from "../test/support/timing.js";
import { BackendError, createLocker, LockAbortedError, type LockAdapter, LockTimeoutError } from "./index.js";

// The lock client's time bounds: every call ends by its documented worst
// case, whatever the backend does. Bounds below are the documented ones plus
// a stated slack for a loaded machine (timers fire late, never early), and
// each scenario is chosen so that the broken behaviour overshoots the bound by
// far more than that slack.
const SLACK_MS = 600;

const hang = (signal?: AbortSignal) =>
  new Promise<never>((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));

/** A push-wakeup backend over memory: a held key is waited on server-side, then refused. */
function pushAdapter(hooks: { before?: (waitMs: number, attempt: number) => Promise<void> }): {
  adapter: LockAdapter;
  asked: Array<{ waitMs: number; at: number }>;
} {
  const base = memoryAdapter();
  const asked: Array<{ waitMs: number; at: number }> = [];
  const adapter: LockAdapter = {
    ...base,
    capabilities: { ...base.capabilities, pushWakeups: true },
    acquire: async (request) => {
      const waitMs = request.waitMs ?? 0;
      asked.push({ waitMs, at: Date.now() });
      await hooks.before?.(waitMs, asked.length);
      // Memory would queue the wait itself: this backend refuses, then waits on its own.
      const first = await base.acquire({ ...request, waitMs: 0, signal: request.signal });
      if (first.ok || waitMs === 0) return first;
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, waitMs);
        request.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(request.signal?.reason);
        });
      });
      return base.acquire({ ...request, waitMs: 0, signal: request.signal });
    },
  };
  return { adapter, asked };
}

describe("push waits ask only for the wait that is left", () => {
  test("a retry after a failed attempt asks for the remaining wait, and acquire ends by waitMs", async () => {
    const { adapter, asked } = pushAdapter({
      before: async (_, attempt) => {
        if (attempt !== 2) return;
        await sleep(1_000);
        throw new BackendError("connection reset", { maybeApplied: true });
      },
    });
    const locker = createLocker({ adapter, requestTimeoutMs: 800 });
    await locker.tryAcquire("k", { ttlMs: 60_000 });
    const started = Date.now();
    const error = await locker.acquire("k", { waitMs: 2_000 }).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(asked.length).toBeGreaterThanOrEqual(3);
    // Each retry asks for what is left (the 100 ms allow for the client's own
    // planning before the adapter notes the time); re-sending would ask 2 000.
    for (const { waitMs, at } of asked.slice(2)) expect(waitMs).toBeLessThanOrEqual(started + 2_000 - at + 100);
    // Re-sending the original 2 s wait would end near 3 s.
    expect(took).toBeLessThan(2_000 + 800);
  });

  test("stalled attempts: acquire ends by waitMs + one requestTimeoutMs, not (retries + 1) × both", async () => {
    const { adapter } = pushAdapter({});
    const stalled: LockAdapter = {
      ...adapter,
      acquire: (request) => (request.waitMs ? hang(request.signal) : adapter.acquire(request)),
    };
    const locker = createLocker({ adapter: stalled, requestTimeoutMs: 300 });
    await locker.tryAcquire("k", { ttlMs: 60_000 });
    const started = Date.now();
    const error = await locker.acquire("k", { waitMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    // Three attempts of 1 000 + 300 ms would take 3.9 s.
    expect(Date.now() - started).toBeLessThan(1_000 + 300 + SLACK_MS);
  });

  test("a polling backend that hangs near the end of the wait: acquire ends by waitMs + one requestTimeoutMs", async () => {
    const base = memoryAdapter();
    let polls = 0;
    const adapter: LockAdapter = {
      ...base,
      capabilities: { ...base.capabilities, pushWakeups: false },
      acquire: (request) => (++polls >= 3 ? hang(request.signal) : base.acquire(request)),
    };
    const locker = createLocker({ adapter, requestTimeoutMs: 1_000, backoff: { baseMs: 100, maxMs: 100 } });
    await locker.tryAcquire("k", { ttlMs: 60_000 });
    const started = Date.now();
    const error = await locker.acquire("k", { waitMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    // Three timed-out attempts would take over 3 s.
    expect(Date.now() - started).toBeLessThan(500 + 1_000 + SLACK_MS);
  });
});

describe("an adapter's own sleep between polls that never ends", () => {
  // pollWait's contract bounds it by remainingMs; one that breaks it must not stretch the caller's wait.
  const sleepless = () => {
    const base = memoryAdapter();
    const signals: AbortSignal[] = [];
    const adapter: LockAdapter = {
      ...base,
      capabilities: { ...base.capabilities, pushWakeups: false },
      pollWait: ({ signal }) => {
        if (signal) signals.push(signal);
        return new Promise<never>(() => undefined);
      },
    };
    return { adapter, signals };
  };

  test("acquire still ends by waitMs, and the adapter's sleep is told to stop", async () => {
    const { adapter, signals } = sleepless();
    const locker = createLocker({ adapter });
    await locker.tryAcquire("k", { ttlMs: 60_000 });
    const started = Date.now();
    const error = await locker.acquire("k", { waitMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    // A sleep that ran on would never end at all.
    expect(Date.now() - started).toBeLessThan(500 + SLACK_MS);
    expect(signals.length).toBeGreaterThan(0);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
  });

  test("an abort still rejects at once with LockAbortedError", async () => {
    const { adapter } = sleepless();
    const locker = createLocker({ adapter });
    await locker.tryAcquire("k", { ttlMs: 60_000 });
    const controller = new AbortController();
    const pending = locker.acquire("k", { waitMs: 30_000, signal: controller.signal }).catch((e: unknown) => e);
    await sleep(100);
    const aborted = Date.now();
    controller.abort(new Error("caller gave up"));
    expect(await pending).toBeInstanceOf(LockAbortedError);
    expect(Date.now() - aborted).toBeLessThan(SLACK_MS);
  });
});

describe("an overall time limit per call and per locker", () => {
  const hung = (): LockAdapter => {
    const base = memoryAdapter();
    return {
      ...base,
      acquire: (r) => hang(r.signal),
      inspect: (_, o) => hang(o?.signal),
      release: (r) => hang(r.signal),
    };
  };

  test("tryAcquire with timeoutMs ends by it against a backend that never answers", async () => {
    const locker = createLocker({ adapter: hung(), onBackgroundError: () => {} });
    const started = Date.now();
    const error = await locker.tryAcquire("k", { timeoutMs: 400 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).maybeApplied).toBe(true);
    expect(Date.now() - started).toBeLessThan(400 + SLACK_MS);
  });

  test("the locker's timeoutMs bounds tryAcquire, acquire, inspect and withLock", async () => {
    const locker = createLocker({ adapter: hung(), timeoutMs: 300, onBackgroundError: () => {} });
    for (const call of [
      () => locker.tryAcquire("k"),
      () => locker.acquire("k", { waitMs: 5_000 }),
      () => locker.inspect("k"),
      () => locker.withLock("k", () => 1),
    ]) {
      const started = Date.now();
      await expect(call()).rejects.toBeInstanceOf(BackendError);
      expect(Date.now() - started).toBeLessThan(300 + SLACK_MS);
    }
  });

  test("acquire's wait is cut by timeoutMs and ends with LockTimeoutError", async () => {
    const locker = createLocker({ adapter: memoryAdapter() });
    await locker.tryAcquire("k", { ttlMs: 60_000 });
    const started = Date.now();
    await expect(locker.acquire("k", { waitMs: 10_000, timeoutMs: 300 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect(Date.now() - started).toBeLessThan(300 + SLACK_MS);
  });

  test("the clean-up release after an ambiguous failure runs in the background and is reported", async () => {
    const reported: unknown[] = [];
    const base = memoryAdapter();
    const adapter: LockAdapter = {
      ...base,
      acquire: async () => {
        throw new BackendError("lost answer", { maybeApplied: true });
      },
      release: (r) => hang(r.signal),
    };
    const locker = createLocker({
      adapter,
      retries: 0,
      requestTimeoutMs: 3_000,
      onBackgroundError: (e) => reported.push(e),
    });
    const started = Date.now();
    await expect(locker.tryAcquire("k")).rejects.toBeInstanceOf(BackendError);
    // Awaiting the release attempt would take 3 s.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(reported).toHaveLength(0);
    await expect.poll(() => reported.length, { timeout: 10_000 }).toBe(1);
    expect(reported[0]).toBeInstanceOf(BackendError);
  });

  test("a semaphore acquire that hangs at the backend is aborted at the request timeout, not only abandoned", async () => {
    const base = memoryAdapter();
    const semaphores = base.semaphores;
    if (!semaphores) throw new Error("memory has semaphores");
    let aborted = false;
    const adapter: LockAdapter = {
      ...base,
      semaphores: {
        ...semaphores,
        acquire: (request) => {
          request.signal?.addEventListener("abort", () => {
            aborted = true;
          });
          return hang(request.signal);
        },
      },
    };
    const locker = createLocker({ adapter, retries: 0, requestTimeoutMs: 200 });
    await expect(locker.semaphore("k", { limit: 2 }).tryAcquire()).rejects.toBeInstanceOf(BackendError);
    // The backend request's own signal fired: a hung fetch is cancelled, it does not linger.
    expect(aborted).toBe(true);
  });
});
