import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLocker, InvalidArgumentError, type LockAdapter, LockLostError, newToken } from "../../src/index.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

// Resume by token and opt-in renewal, against the real Upstash endpoint in
// front of redis-server; each "instance" has its own adapter.
let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
});
afterAll(() => upstash?.stop());

const instance = (counts?: { extends: number }) => {
  const base = upstashAdapter({ url: upstash.url, token: upstash.token, prefix: "resume:" });
  const adapter: LockAdapter = counts
    ? {
        ...base,
        extend: (request) => {
          counts.extends++;
          return base.extend(request);
        },
      }
    : base;
  return createLocker({ adapter });
};

describe("resume(key, token)", () => {
  test("another instance continues the lease with its fence and releases it", async () => {
    const first = await instance().tryAcquire("job", { ttlMs: 5_000 });
    if (!first) throw new Error("expected a lease");
    const other = instance();
    const resumed = await other.resume("job", first.token, { ttlMs: 20_000 });
    expect(resumed.fence).toBe(first.fence);
    expect(resumed.token).toBe(first.token);
    expect(resumed.ttlMs).toBe(20_000);
    expect(await upstash.redis.pttl("resume:{job}:lock")).toBeGreaterThan(15_000);
    await resumed.release();
    expect(await other.inspect("job")).toEqual({ held: false });
  });

  test("a token that no longer holds is refused with LockLostError, and changes nothing", async () => {
    const locker = instance();
    const lease = await locker.tryAcquire("gone", { ttlMs: 5_000 });
    if (!lease) throw new Error("expected a lease");
    await lease.release();
    const taken = await locker.tryAcquire("gone", { ttlMs: 5_000 });
    await expect(instance().resume("gone", lease.token)).rejects.toBeInstanceOf(LockLostError);
    await expect(instance().resume("gone", newToken())).rejects.toBeInstanceOf(LockLostError);
    expect(await locker.inspect("gone")).toMatchObject({ held: true, fence: taken?.fence });
  });

  test("bad tokens are refused before any request", async () => {
    for (const token of ["", "short", 42, null, "x".repeat(22).replace(/x$/, "!")]) {
      await expect(instance().resume("k", token as string)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });
});

describe("acquire({ autoExtend: true })", () => {
  test("keeps the lock past several TTLs until released, then stops extending", async () => {
    const counts = { extends: 0 };
    const locker = instance(counts);
    // Renewals come every TTL/3: a 1.5 s TTL leaves a 1 s gap for a slow renewal on a loaded machine (600 ms did not).
    const lease = await locker.acquire("renewed", { ttlMs: 1_500, waitMs: 0, autoExtend: true });
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(lease.signal.aborted).toBe(false);
    expect(await upstash.redis.exists("resume:{renewed}:lock")).toBe(1);
    expect(counts.extends).toBeGreaterThanOrEqual(3);
    await lease.release();
    const after = counts.extends;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(counts.extends).toBe(after);
  });

  test("a renewal refused (the lock was taken over) aborts the lease's signal", async () => {
    const lease = await instance().tryAcquire("stolen", { ttlMs: 600, autoExtend: true });
    if (!lease) throw new Error("expected a lease");
    await upstash.redis.del("resume:{stolen}:lock");
    await instance().tryAcquire("stolen", { ttlMs: 10_000 });
    await expect.poll(() => lease.signal.aborted, { timeout: 5_000 }).toBe(true);
    expect(lease.signal.reason).toBeInstanceOf(LockLostError);
  });

  test("without the option a plain lease is not extended", async () => {
    const counts = { extends: 0 };
    const lease = await instance(counts).tryAcquire("plain", { ttlMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(counts.extends).toBe(0);
    expect(lease?.remainingMs()).toBe(0);
  });
});
