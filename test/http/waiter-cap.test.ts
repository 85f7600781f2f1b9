import { describe, expect, test } from "vitest";
import { createLockService } from "../../service/app.js";
import { POLL } from "../../service/wait.js";
import { type LockAdapter, memoryAdapter, newToken } from "../../src/index.js";
import { call, sleep } from "./helpers.js";

const A = "waiter-cap-tenant-a-1";
const B = "waiter-cap-tenant-b-2";

/** The memory adapter, recording when each acquire reached it; `polling`: as a backend without push wake-ups. */
function recorded(polling = false): { adapter: LockAdapter; acquires: number[]; tokens: string[] } {
  const inner = memoryAdapter();
  const acquires: number[] = [];
  const tokens: string[] = [];
  return {
    acquires,
    tokens,
    adapter: {
      ...inner,
      capabilities: { ...inner.capabilities, pushWakeups: !polling && inner.capabilities.pushWakeups },
      acquire: (request) => {
        acquires.push(performance.now());
        tokens.push(request.token);
        return inner.acquire(request);
      },
    },
  };
}

describe("waiting acquires are capped per instance and per tenant", () => {
  test("past a cap a waiting acquire answers 429 too_many_waiters with Retry-After, before any backend request", async () => {
    const { adapter, tokens } = recorded();
    const app = createLockService({ adapter, tokens: `${A},${B}`, maxWaiters: 5, maxWaitersPerTenant: 3 });
    const acquire = (token: string, body: unknown) => call(app, "POST", "/v1/locks/k/acquire", { token, body });
    const holder = await acquire(A, { ttlMs: 10_000 });
    const holderB = await acquire(B, { ttlMs: 10_000 });
    expect([holder.status, holderB.status]).toEqual([200, 200]);
    const waitingA = [1, 2, 3].map(() => acquire(A, { ttlMs: 1_000, waitMs: 1_500, token: newToken() }));
    await sleep(100);
    const refusedToken = newToken();
    const refused = await acquire(A, { ttlMs: 1_000, waitMs: 1_500, token: refusedToken });
    expect(refused.status).toBe(429);
    expect(refused.json.error).toBe("too_many_waiters");
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(tokens).not.toContain(refusedToken);
    // Tenant B has places of its own, until the instance's cap.
    const waitingB = [1, 2].map(() => acquire(B, { ttlMs: 1_000, waitMs: 1_500, token: newToken() }));
    await sleep(100);
    expect((await acquire(B, { ttlMs: 1_000, waitMs: 1_500 })).status).toBe(429);
    // An acquire without a wait is never capped.
    expect((await acquire(A, { ttlMs: 1_000 })).status).toBe(409);
    expect((await Promise.all([...waitingA, ...waitingB])).map((a) => a.status)).toEqual([409, 409, 409, 409, 409]);
    // The places are given back.
    const again = await acquire(A, { ttlMs: 1_000, waitMs: 50 });
    expect(again.status).toBe(409);
    expect(again.json.error).toBe("locked");
  }, 20_000);

  test("an adapter's own pollWait is slept through, and the POLL.minMs floor holds when it ends at once", async () => {
    const { adapter: polling, acquires, tokens } = recorded(true);
    const sleeps: { fallbackMs: number; remainingMs: number; token: string }[] = [];
    // As a wake-up that comes at once every time: only the floor spaces the polls.
    const adapter: LockAdapter = {
      ...polling,
      pollWait: async ({ fallbackMs, remainingMs, token }) => {
        sleeps.push({ fallbackMs, remainingMs, token });
      },
    };
    const app = createLockService({ adapter, tokens: A });
    const acquire = (body: unknown) => call(app, "POST", "/v1/locks/k/acquire", { token: A, body });
    expect((await acquire({ ttlMs: 10_000 })).status).toBe(200);
    const waiterToken = newToken();
    const waited = await acquire({ ttlMs: 1_000, waitMs: 1_000, token: waiterToken });
    expect(waited.status).toBe(409);
    const polls = acquires.slice(1);
    expect(sleeps.length).toBeGreaterThanOrEqual(polls.length - 1);
    for (const sleep of sleeps) {
      expect(sleep.token).toBe(waiterToken);
      expect(sleep.fallbackMs).toBeGreaterThanOrEqual(Math.min(POLL.minMs, sleep.remainingMs));
      expect(sleep.remainingMs).toBeLessThanOrEqual(1_000);
    }
    expect(tokens.slice(1).every((token) => token === waiterToken)).toBe(true);
    const gaps = polls.slice(1).map((at, i) => at - (polls[i] ?? at));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(POLL.minMs - 2);
    expect(polls.length).toBeLessThanOrEqual(1 + Math.ceil(1_000 / POLL.minMs));
  });

  test("an adapter's pollWait that never ends does not stretch the service's wait past waitMs", async () => {
    const { adapter: polling } = recorded(true);
    const adapter: LockAdapter = { ...polling, pollWait: () => new Promise<never>(() => undefined) };
    const app = createLockService({ adapter, tokens: A });
    const acquire = (body: unknown) => call(app, "POST", "/v1/locks/k/acquire", { token: A, body });
    expect((await acquire({ ttlMs: 10_000 })).status).toBe(200);
    const started = Date.now();
    const waited = await acquire({ ttlMs: 1_000, waitMs: 700 });
    expect(waited.status).toBe(409);
    // A sleep that ran on would never answer at all.
    expect(Date.now() - started).toBeLessThan(700 + 1_500);
  });

  test("a semaphore's wait never sleeps through the lock's pollWait (it knows the lock's holders, not the permits')", async () => {
    const inner = memoryAdapter();
    let lockSleeps = 0;
    const adapter: LockAdapter = {
      ...inner,
      capabilities: { ...inner.capabilities, pushWakeups: false },
      pollWait: async () => {
        lockSleeps++;
      },
    };
    expect(adapter.semaphores?.capabilities.pushWakeups).toBe(false);
    const app = createLockService({ adapter, tokens: A });
    const acquire = (body: unknown) => call(app, "POST", "/v1/semaphores/s/acquire", { token: A, body });
    expect((await acquire({ limit: 1, ttlMs: 10_000 })).status).toBe(200);
    const waited = await acquire({ limit: 1, ttlMs: 1_000, waitMs: 600 });
    expect(waited.status).toBe(409);
    expect(lockSleeps).toBe(0);
  });

  test("one waiter polls the backend at most once per POLL.minMs", async () => {
    const { adapter, acquires } = recorded(true);
    const app = createLockService({ adapter, tokens: A });
    expect((await call(app, "POST", "/v1/locks/p/acquire", { token: A, body: { ttlMs: 10_000 } })).status).toBe(200);
    acquires.length = 0;
    const answer = await call(app, "POST", "/v1/locks/p/acquire", { token: A, body: { ttlMs: 1_000, waitMs: 2_000 } });
    expect(answer.status).toBe(409);
    expect(acquires.length).toBeGreaterThan(2);
    const gaps = acquires.slice(1).map((at, i) => at - (acquires[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(POLL.minMs - 2);
    expect(acquires.length).toBeLessThanOrEqual(1 + Math.ceil(2_000 / POLL.minMs));
  }, 20_000);
});
