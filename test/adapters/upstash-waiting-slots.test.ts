import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLocker, InvalidArgumentError, newToken } from "../../src/index.js";
import { sleep, until } from "../support/timing.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";
import { holdWaitRelease, workersConnections } from "../support/workers-connections.js";

// Each adapter here is one Worker invocation's (or one process's): its
// BLPOPs, the waiting slots they take, and the requests they could hold back.
let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
});
afterAll(async () => {
  await upstash?.stop();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const isBlpop = (body: string) => body.startsWith('["blpop"');
const keysFor = (n: number) => Array.from({ length: n }, (_, i) => `slots-${newToken().slice(0, 8)}-${i}`);

describe("upstash: waiting requests per adapter instance", () => {
  test("on Workers, eight waiters in one invocation leave connections free: the holder's releases are not queued behind BLPOPs", async () => {
    vi.stubGlobal("navigator", { userAgent: "Cloudflare-Workers" });
    const wire = workersConnections(fetch, isBlpop);
    const locker = createLocker({
      adapter: upstashAdapter({ url: upstash.url, token: upstash.token, fetch: wire.fetch }),
    });
    // Long waits and a long-lived holder: a release held back behind a waiting request would wait for it.
    const seen = await holdWaitRelease(locker, wire, keysFor(8), { waitMs: 45_000, blocked: (n) => n >= 4 });

    expect(seen.releasedMs).toBeLessThan(10_000);
    expect(wire.maxWaiting()).toBe(4);
    seen.grantedFences.forEach((fence, i) => {
      expect(fence).toBeGreaterThan(seen.heldFences[i] ?? Number.POSITIVE_INFINITY);
    });
  }, 90_000);

  test("elsewhere there is no limit by default: every key's waiter blocks in its own BLPOP", async () => {
    const wire = workersConnections(fetch, isBlpop, 1_000);
    const locker = createLocker({
      adapter: upstashAdapter({ url: upstash.url, token: upstash.token, fetch: wire.fetch }),
    });
    const seen = await holdWaitRelease(locker, wire, keysFor(8), { waitMs: 30_000, blocked: (n) => n === 8 });
    expect(wire.maxWaiting()).toBe(8);
    expect(seen.grantedFences).toHaveLength(8);
  }, 60_000);

  test("waiters on one key in one instance share a single BLPOP; a release wakes the oldest alone", async () => {
    let scripts = 0;
    const counted: typeof fetch = (input, init) => {
      const body = JSON.parse(String(init?.body)) as unknown[];
      scripts += Array.isArray(body[0]) ? body.length : body[0] === "blpop" ? 0 : 1;
      return fetch(input, init);
    };
    const wire = workersConnections(counted, isBlpop, 1_000);
    const local = createLocker({
      adapter: upstashAdapter({ url: upstash.url, token: upstash.token, fetch: wire.fetch }),
    });
    const other = createLocker({ adapter: upstashAdapter({ url: upstash.url, token: upstash.token }) });
    const [key = ""] = keysFor(1);
    const holder = await other.tryAcquire(key, { ttlMs: 60_000 });
    const order: number[] = [];
    const fences: number[] = [];
    const waits: Promise<unknown>[] = [];
    for (let i = 0; i < 8; i++) {
      waits.push(
        local.withLock(
          key,
          async (lease) => {
            order.push(i);
            fences.push(lease.fence);
            // A held lock every other waiter keeps waiting on: each release wakes the next one.
            await sleep(5);
          },
          { ttlMs: 10_000, waitMs: 30_000 },
        ),
      );
      await until(() => wire.waiting() === 1, 10_000);
      await sleep(20);
    }
    await holder?.release();
    await Promise.all(waits);

    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Each waiter: its refusal, its granted attempt, its release (and a few
    // attempts lost to timing); waking all eight on every release would be 52.
    expect(scripts).toBeLessThanOrEqual(8 * 3 + 4);
    expect(fences).toEqual([...fences].sort((a, b) => a - b));
    expect(wire.maxWaiting()).toBe(1);
  }, 60_000);

  test("a waiter that gives up leaves the shared BLPOP to the others; the last one to leave withdraws it", async () => {
    const wire = workersConnections(fetch, isBlpop, 1_000);
    const local = createLocker({
      adapter: upstashAdapter({ url: upstash.url, token: upstash.token, fetch: wire.fetch }),
    });
    const other = createLocker({ adapter: upstashAdapter({ url: upstash.url, token: upstash.token }) });
    const [key = ""] = keysFor(1);
    const holder = await other.tryAcquire(key, { ttlMs: 60_000 });
    const first = new AbortController();
    const second = new AbortController();
    const waitA = local.acquire(key, { waitMs: 30_000, signal: first.signal });
    const waitB = local.acquire(key, { waitMs: 30_000, signal: second.signal });
    waitA.catch(() => {});
    waitB.catch(() => {});
    await until(() => wire.waiting() === 1, 10_000);
    const sent = wire.waitingSent();

    first.abort();
    await expect(waitA).rejects.toMatchObject({ code: "aborted" });
    await sleep(200);
    expect([wire.waiting(), wire.waitingSent()]).toEqual([1, sent]);

    second.abort();
    await expect(waitB).rejects.toMatchObject({ code: "aborted" });
    await until(() => wire.waiting() === 0, 5_000);
    await holder?.release();
  }, 60_000);

  test("maxWaitingRequests: 0 never blocks (waits poll); bad values are refused before any request", async () => {
    const wire = workersConnections(fetch, isBlpop, 1_000);
    const adapter = upstashAdapter({
      url: upstash.url,
      token: upstash.token,
      fetch: wire.fetch,
      maxWaitingRequests: 0,
    });
    expect(adapter.capabilities.pushWakeups).toBe(false);
    const locker = createLocker({ adapter });
    const [key = ""] = keysFor(1);
    const holder = await locker.tryAcquire(key, { ttlMs: 300 });
    const lease = await locker.acquire(key, { waitMs: 10_000 });
    expect(lease.fence).toBeGreaterThan(holder?.fence ?? Number.POSITIVE_INFINITY);
    expect(wire.waitingSent()).toBe(0);
    await lease.release();

    // A user's client pipelines what it is given: it never blocks, so the option does not apply.
    const redis = { evalsha: async () => null, eval: async () => null };
    expect(() => upstashAdapter({ redis, maxWaitingRequests: 1 } as never)).toThrow(InvalidArgumentError);
    for (const bad of [-1, 1.5, Number.NaN, "4", 2_000_000]) {
      expect(() =>
        upstashAdapter({ url: upstash.url, token: upstash.token, maxWaitingRequests: bad as number }),
      ).toThrow(InvalidArgumentError);
    }
  }, 30_000);
});

describe("upstash: permit waits are pushed too", () => {
  // A 20 s backoff: a poll could not notice the release within the bound below.
  const SLOW_BACKOFF = { baseMs: 20_000, maxMs: 20_000 };

  test("a waiting permit acquire blocks in BLPOP and a release of any permit wakes it", async () => {
    const wire = workersConnections(fetch, isBlpop, 1_000);
    const [key = ""] = keysFor(1);
    const holders = createLocker({
      adapter: upstashAdapter({ url: upstash.url, token: upstash.token }),
    }).semaphore(key, { limit: 2 });
    const [first, second] = await Promise.all([
      holders.tryAcquire({ ttlMs: 30_000 }),
      holders.tryAcquire({ ttlMs: 30_000 }),
    ]);
    const adapter = upstashAdapter({ url: upstash.url, token: upstash.token, fetch: wire.fetch });
    expect(adapter.semaphores?.capabilities.pushWakeups).toBe(true);
    const waiter = createLocker({ adapter, backoff: SLOW_BACKOFF }).semaphore(key, { limit: 2 });

    const waiting = waiter.acquire({ ttlMs: 10_000, waitMs: 30_000 });
    await until(() => wire.waiting() === 1, 10_000);
    const released = Date.now();
    await first?.release();
    const permit = await waiting;

    expect(Date.now() - released).toBeLessThan(5_000);
    expect(wire.maxWaiting()).toBe(1);
    await Promise.all([permit.release(), second?.release()]);
  }, 60_000);

  test("a limit mismatch is answered at once, not waited on", async () => {
    const [key = ""] = keysFor(1);
    const locker = createLocker({ adapter: upstashAdapter({ url: upstash.url, token: upstash.token }) });
    const held = await locker.semaphore(key, { limit: 1 }).tryAcquire({ ttlMs: 30_000 });
    const started = Date.now();
    await expect(locker.semaphore(key, { limit: 3 }).acquire({ waitMs: 20_000 })).rejects.toMatchObject({
      code: "limit_mismatch",
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    await held?.release();
  }, 30_000);
});
