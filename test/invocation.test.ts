import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../adapters/upstash/index.js";
import {
  AZURE_HTTP_RESPONSE_LIMIT_MS,
  azureFunctionsBudget,
  createLocker,
  InvalidArgumentError,
  invocationBudget,
  type LockEvent,
  LockLostError,
  lambdaBudget,
  workersBudget,
} from "../src/index.js";
import { sleep } from "./support/timing.js";
import { startUpstash, type UpstashFixture } from "./support/upstash-rest.js";

let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
}, 60_000);
afterAll(() => upstash?.stop());

let counter = 0;
const key = (label: string) => `budget-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
const locker = (onEvent?: (event: LockEvent) => void) =>
  createLocker({
    adapter: upstashAdapter({ url: upstash.url, token: upstash.token }),
    ...(onEvent ? { onEvent } : {}),
  });

describe("leases bounded by the invocation, against Upstash REST over redis-server", () => {
  test("Lambda: acquire on a held lock gives up at the invocation's end minus the margin, not after its own waitMs", async () => {
    const k = key("lambda");
    const holder = await locker().acquire(k, { ttlMs: 30_000 });
    // Lambda's context, as the runtime hands it to a handler with 2.5 s left.
    const budget = lambdaBudget({ getRemainingTimeInMillis: () => 2_500 }, { safetyMarginMs: 1_000 });
    const started = Date.now();
    const error = await locker()
      .acquire(k, budget.bound({ waitMs: 60_000 }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: expect.stringMatching(/^(timeout|aborted)$/) });
    // It waited (the wait was bounded, not skipped) and stopped before the invocation's end.
    expect(Date.now()).toBeGreaterThanOrEqual(budget.cutoff - 50);
    expect(Date.now()).toBeLessThan(budget.deadline);
    expect(Date.now() - started).toBeLessThan(2_500);
    await holder.release();
  }, 30_000);

  test("withLock extends only until the cutoff; the lease then frees itself within its TTL", async () => {
    const k = key("extend-until");
    const events: LockEvent[] = [];
    const budget = invocationBudget({ deadline: Date.now() + 8_000, safetyMarginMs: 2_000 });
    const observer = locker();
    const outcome = locker((event) => events.push(event)).withLock(
      k,
      async (lease) => {
        // Work that runs past the invocation: it only stops when the lease is gone.
        await new Promise((resolve) => lease.signal.addEventListener("abort", resolve));
      },
      budget.bound({ ttlMs: 3_000 }),
    );
    await sleep(4_000);
    // Past its first TTL: extensions kept it.
    expect(await observer.inspect(k)).toMatchObject({ held: true });
    await expect(outcome).rejects.toBeInstanceOf(LockLostError);
    const extended = events.filter((e) => e.type === "extended");
    expect(extended.length).toBeGreaterThanOrEqual(2);
    for (const event of extended)
      expect(event.type === "extended" && event.startedAt).toBeLessThanOrEqual(budget.cutoff);
    const lost = events.find((e) => e.type === "lost");
    expect(lost).toMatchObject({ reason: "expired" });
    // Lost no later than a TTL after the cutoff (plus one extension's round trip).
    expect(Date.now()).toBeLessThan(budget.cutoff + 3_000 + 1_500);
    for (let i = 0; i < 50 && (await observer.inspect(k)).held; i++) await sleep(50);
    expect(await observer.inspect(k)).toEqual({ held: false });
  }, 30_000);

  test("bound caps TTLs at the time left, waits at the time left before the cutoff, and keeps other options", () => {
    const budget = invocationBudget({ deadline: Date.now() + 5_000, safetyMarginMs: 1_000 });
    const bounded = budget.bound({ ttlMs: 60_000, waitMs: 60_000, owner: "job" });
    expect(bounded.ttlMs).toBeLessThanOrEqual(5_000);
    expect(bounded.ttlMs).toBeGreaterThan(4_000);
    expect(bounded.waitMs).toBeLessThanOrEqual(4_000);
    expect(bounded.owner).toBe("job");
    expect(bounded.extendUntil).toBe(budget.cutoff);
    expect(budget.bound({ ttlMs: 2_000 }).ttlMs).toBe(2_000);
    expect(budget.bound().ttlMs).toBeLessThanOrEqual(5_000);
    const past = invocationBudget({ deadline: Date.now() - 1 });
    expect(past.remainingMs()).toBe(0);
    expect(past.bound({ waitMs: 5_000 }).waitMs).toBe(0);
    expect(past.bound().ttlMs).toBe(1);
  });

  test("Azure Functions and Cloudflare Workers budgets use each platform's limits", () => {
    const startedAt = Date.now();
    expect(azureFunctionsBudget({ startedAt }).deadline).toBe(startedAt + 5 * 60_000);
    expect(azureFunctionsBudget({ startedAt, functionTimeout: "00:10:00" }).deadline).toBe(startedAt + 600_000);
    expect(azureFunctionsBudget({ startedAt, functionTimeout: "1.02:00:00" }).deadline).toBe(
      startedAt + 26 * 3_600_000,
    );
    expect(azureFunctionsBudget({ startedAt, functionTimeout: "00:10:00", http: true }).deadline).toBe(
      startedAt + AZURE_HTTP_RESPONSE_LIMIT_MS,
    );
    expect(workersBudget({ invocation: "scheduled", startedAt }).deadline).toBe(startedAt + 15 * 60_000);
    expect(workersBudget({ invocation: "waitUntil", startedAt }).deadline).toBe(startedAt + 30_000);
    expect(workersBudget({ limitMs: 10_000, startedAt, safetyMarginMs: 500 }).cutoff).toBe(startedAt + 9_500);
    for (const bad of [
      () => azureFunctionsBudget({ functionTimeout: "5 minutes" }),
      () => workersBudget({}),
      () => invocationBudget({ deadline: Number.NaN }),
      () => invocationBudget({ deadline: Date.now(), safetyMarginMs: -1 }),
      () => lambdaBudget({} as never),
    ]) {
      expect(bad).toThrow(InvalidArgumentError);
    }
  });

  test("a bad extendUntil is refused before any backend request", async () => {
    const before = upstash.requests();
    await expect(locker().withLock(key("bad"), () => 1, { extendUntil: Number.NaN })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(upstash.requests()).toBe(before);
  });
});
