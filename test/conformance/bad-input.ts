import { expect, test } from "vitest";
import { createLocker, InvalidArgumentError } from "../../src/index.js";
import type { Suite } from "./context.js";

/** Bad input gets a typed error, never a crash, a hang or a silent success; nothing held is lost. */
export function badInput(suite: Suite): void {
  const badKeys: unknown[] = ["", "x".repeat(257), "é".repeat(129), "a\nb", "nul\u0000", "\ud800", 42, null, undefined];
  const badTtls: unknown[] = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1000", null];

  test("bad keys are refused with InvalidArgumentError before any request", async () => {
    const locker = suite.locker();
    const before = suite.transport.requests;
    for (const key of badKeys) {
      await expect(locker.tryAcquire(key as string, { ttlMs: 1_000 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(locker.acquire(key as string, { ttlMs: 1_000, waitMs: 0 })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(locker.inspect(key as string)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(suite.transport.requests).toBe(before);
  });

  test("keys of exactly 256 bytes and any Unicode are accepted", async () => {
    const locker = suite.locker();
    for (const key of ["x".repeat(256), "é".repeat(128), "🔒 lock/α β?#%&=+", "a/b\\c"]) {
      const lease = await locker.tryAcquire(key, { ttlMs: suite.ttlMs(4) });
      expect(lease).not.toBeNull();
      await lease?.release();
    }
  });

  test("bad TTLs, waits and owners are refused with InvalidArgumentError", async () => {
    const locker = suite.locker();
    const k = suite.key("bad-ttl");
    for (const ttlMs of [...badTtls, suite.capabilities().ttl.maxMs + 1]) {
      await expect(locker.tryAcquire(k, { ttlMs: ttlMs as number })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    for (const waitMs of [-1, 2.5, Number.NaN, "10"]) {
      await expect(locker.acquire(k, { ttlMs: 1_000, waitMs: waitMs as number })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
    await expect(locker.tryAcquire(k, { ttlMs: 1_000, owner: "o".repeat(300) })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(() => createLocker({ adapter: suite.adapter(), namespace: "bad\nns" })).toThrow(InvalidArgumentError);
    expect(await locker.inspect(k)).toEqual({ held: false });
  });

  test("a bad extend leaves the lease held", async () => {
    const locker = suite.locker();
    const k = suite.key("bad-extend");
    const lease = await locker.tryAcquire(k, { ttlMs: suite.ttlMs(4) });
    if (!lease) throw new Error("expected a lease");
    for (const ttlMs of badTtls.filter((t) => t !== null)) {
      await expect(lease.extend(ttlMs as number)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(lease.signal.aborted).toBe(false);
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: lease.fence });
    await lease.release();
  });

  test("a TTL below the backend's minimum is rounded up and the grant says so", async () => {
    const locker = suite.locker();
    const caps = suite.capabilities();
    const lease = await locker.tryAcquire(suite.key("min-ttl"), { ttlMs: 1 });
    if (!lease) throw new Error("expected a lease");
    expect(lease.ttlMs).toBeGreaterThanOrEqual(caps.ttl.minMs);
    await lease.release();
  });
}
