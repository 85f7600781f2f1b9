import { describe, expect, test } from "vitest";
import { memoryAdapter } from "../adapters/memory/index.js";
import { sleep } from "../test/support/timing.js";
import {
  BackendError,
  BackendRejectedError,
  createLocker,
  LockAbortedError,
  type LockAdapter,
  LockLostError,
  LockTimeoutError,
} from "./index.js";

// Unit tests of the lock client's own logic. The backend is the in-process
// memory adapter, with single operations overridden where a test needs a
// behaviour the client must cope with (a push backend, a refusing extend).
type Overrides = Partial<Omit<LockAdapter, "capabilities">> & { capabilities?: Partial<LockAdapter["capabilities"]> };
function over(overrides: Overrides): LockAdapter {
  const base = memoryAdapter();
  return { ...base, ...overrides, capabilities: { ...base.capabilities, ...overrides.capabilities } };
}

describe("acquire while held", () => {
  test("wakes at the holder's expiry when the retry-after hint is shorter than the backoff", async () => {
    const base = memoryAdapter();
    let polls = 0;
    const adapter: LockAdapter = {
      ...base,
      acquire: (request) => {
        polls++;
        return base.acquire(request);
      },
    };
    const locker = createLocker({ adapter, backoff: { baseMs: 5_000, maxMs: 5_000 } });
    await locker.tryAcquire("k", { ttlMs: 150 });
    const started = Date.now();
    const lease = await locker.acquire("k", { ttlMs: 1_000, waitMs: 3_000 });
    // A 5 s backoff would overshoot; the hint (150 ms) makes it return near
    // the expiry. 2.5 s leaves a loaded machine 2.35 s of lateness and still
    // fails a backoff of 5 s.
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(polls).toBeLessThanOrEqual(4);
    await lease.release();
  });

  test("a push backend gets the remaining wait and the grant's queue time extends the deadline", async () => {
    const seen: number[] = [];
    const base = memoryAdapter();
    const adapter = over({
      capabilities: { pushWakeups: true },
      acquire: async (request) => {
        seen.push(request.waitMs ?? 0);
        const grant = await base.acquire(request);
        return grant.ok ? { ...grant, waitedMs: 400 } : grant;
      },
    });
    const locker = createLocker({ adapter });
    const sent = Date.now();
    const lease = await locker.acquire("k", { ttlMs: 1_000, waitMs: 2_000 });
    expect(seen[0]).toBeGreaterThan(1_900);
    expect(lease.expiresAt).toBeGreaterThanOrEqual(sent + 1_400);
    expect(lease.expiresAt).toBeLessThanOrEqual(Date.now() + 1_400);
    await lease.release();
  });

  test("times out with LockTimeoutError carrying the key and the time waited", async () => {
    const locker = createLocker({ adapter: memoryAdapter() });
    await locker.tryAcquire("k", { ttlMs: 10_000 });
    const error = await locker.acquire("k", { waitMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(error).toMatchObject({ code: "timeout", key: "k" });
    expect((error as LockTimeoutError).waitedMs).toBeGreaterThanOrEqual(100);
  });
});

describe("failures", () => {
  test("a rejected backend (auth, missing table) is thrown at once, not retried", async () => {
    let calls = 0;
    const adapter = over({
      acquire: async () => {
        calls++;
        throw new BackendRejectedError("403 from the backend");
      },
    });
    const error = await createLocker({ adapter })
      .tryAcquire("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect(calls).toBe(1);
  });

  test("an adapter's unexpected exception becomes a BackendError that may have been applied, with its cause", async () => {
    const bug = new TypeError("undefined is not a function");
    const adapter = over({
      inspect: async () => {
        throw bug;
      },
    });
    const error = await createLocker({ adapter, retries: 0 })
      .inspect("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).cause).toBe(bug);
  });

  test("a hung adapter call is cut off by the request timeout", async () => {
    const adapter = over({ inspect: () => new Promise(() => {}) });
    const started = Date.now();
    const error = await createLocker({ adapter, requestTimeoutMs: 100, retries: 1 })
      .inspect("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).maybeApplied).toBe(true);
    // Two attempts of 100 ms; the failure this guards against is a hang (the
    // test's own timeout), so the bound is wide for a loaded machine.
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test("aborting an in-flight acquire rejects at once and releases whatever it was granted", async () => {
    const base = memoryAdapter();
    let answeredAt = Number.POSITIVE_INFINITY;
    const adapter = over({
      acquire: async (request) => {
        const grant = await base.acquire(request);
        await sleep(300); // the grant is applied; the answer is slow
        answeredAt = Date.now();
        return grant;
      },
      release: (request) => base.release(request),
      inspect: (key) => base.inspect(key),
    });
    const locker = createLocker({ adapter });
    const controller = new AbortController();
    const pending = locker.tryAcquire("k", { ttlMs: 60_000, signal: controller.signal });
    await sleep(50);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(LockAbortedError);
    // "At once" by ordering, not by a wall-clock bound a loaded machine could
    // miss: the caller has its answer before the slow answer even arrived.
    expect(Date.now()).toBeLessThan(answeredAt);
    // The clean-up waits for the abandoned request to settle, then releases.
    await expect.poll(() => locker.inspect("k"), { timeout: 10_000 }).toEqual({ held: false });
    expect(Date.now()).toBeGreaterThanOrEqual(answeredAt);
  });

  test("a failed clean-up is reported, not swallowed", async () => {
    const reported: unknown[] = [];
    const adapter = over({
      acquire: async () => {
        throw new BackendError("lost", { maybeApplied: true });
      },
      release: async () => {
        throw new BackendError("down", { maybeApplied: false });
      },
    });
    const locker = createLocker({ adapter, retries: 0, onBackgroundError: (e) => reported.push(e) });
    await expect(locker.tryAcquire("k")).rejects.toBeInstanceOf(BackendError);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(BackendError);
  });
});

describe("leases", () => {
  test("a client-clock adapter's lease deadline keeps the skew margin", async () => {
    const adapter = over({ capabilities: { clock: "client", clockSkewMarginMs: 400 } });
    const before = Date.now();
    const lease = await createLocker({ adapter }).tryAcquire("k", { ttlMs: 1_000 });
    expect(lease?.expiresAt).toBeGreaterThanOrEqual(before + 600);
    expect(lease?.expiresAt).toBeLessThanOrEqual(Date.now() + 600);
    await lease?.release();
  });

  test("extend asks for the TTL requested, not the shorter time a retried grant reported left", async () => {
    const base = memoryAdapter();
    const asked: number[] = [];
    const adapter = over({
      acquire: async (request) => {
        const grant = await base.acquire(request);
        return grant.ok ? { ...grant, ttlMs: 100 } : grant;
      },
      extend: async (request) => {
        asked.push(request.ttlMs);
        return base.extend(request);
      },
    });
    const lease = await createLocker({ adapter }).tryAcquire("k", { ttlMs: 1_000 });
    expect(lease?.ttlMs).toBe(100);
    await lease?.extend();
    expect(asked).toEqual([1_000]);
    expect(lease?.ttlMs).toBe(1_000);
    await lease?.release();
  });

  test("a refused extension aborts the signal and throws LockLostError", async () => {
    const adapter = over({ extend: async () => ({ ok: false, reason: "not_held" }) });
    const lease = await createLocker({ adapter }).tryAcquire("k", { ttlMs: 5_000 });
    await expect(lease?.extend()).rejects.toBeInstanceOf(LockLostError);
    expect(lease?.signal.aborted).toBe(true);
    expect(lease?.remainingMs()).toBe(0);
  });

  test("withLock: when auto-extend is refused, fn sees the signal abort and withLock throws LockLostError", async () => {
    const adapter = over({ extend: async () => ({ ok: false, reason: "not_held" }) });
    let abortedInside = false;
    const error = await createLocker({ adapter })
      .withLock(
        "k",
        async (lease) => {
          await new Promise((resolve) => lease.signal.addEventListener("abort", resolve));
          abortedInside = true;
        },
        { ttlMs: 300 },
      )
      .catch((e: unknown) => e);
    expect(abortedInside).toBe(true);
    expect(error).toBeInstanceOf(LockLostError);
  });

  test("tokens are 128-bit base64url and distinct", async () => {
    const locker = createLocker({ adapter: memoryAdapter() });
    const tokens = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const lease = await locker.tryAcquire(`k${i}`);
      expect(lease?.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      tokens.add(lease?.token ?? "");
    }
    expect(tokens.size).toBe(200);
  });
});
