import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { httpAdapter } from "../../adapters/http/index.js";
import { createLockService } from "../../service/app.js";
import { listen, type NodeService } from "../../service/platforms/node.js";
import { createLocker, InvalidArgumentError, memoryAdapter, newToken } from "../../src/index.js";
import { sleep, until } from "../support/timing.js";
import { holdWaitRelease, workersConnections } from "../support/workers-connections.js";

// The lock client in one Worker invocation, calling the service over loopback
// HTTP through a fetch that keeps Workers' six-connection rule.
const TOKEN = "waiting-slots-token";
let service: NodeService;
beforeAll(async () => {
  service = await listen(createLockService({ adapter: memoryAdapter(), tokens: TOKEN }), { port: 0 });
});
afterAll(async () => {
  await service?.close();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const isWaitingAcquire = (body: string) => body.includes('"waitMs"');
const keysFor = (n: number) => Array.from({ length: n }, (_, i) => `slots-${newToken().slice(0, 8)}-${i}`);

describe("http adapter: waiting acquires per adapter instance", () => {
  test("on Workers, eight waiting acquires in one invocation leave connections free for the holder's releases", async () => {
    vi.stubGlobal("navigator", { userAgent: "Cloudflare-Workers" });
    const wire = workersConnections(fetch, isWaitingAcquire);
    const locker = createLocker({ adapter: httpAdapter({ url: service.url, token: TOKEN, fetch: wire.fetch }) });
    // Long waits and a long-lived holder: a release held back behind a waiting request would wait for it.
    const seen = await holdWaitRelease(locker, wire, keysFor(8), { waitMs: 25_000, blocked: (n) => n >= 4 });

    expect(seen.releasedMs).toBeLessThan(10_000);
    expect(wire.maxWaiting()).toBe(4);
    seen.grantedFences.forEach((fence, i) => {
      expect(fence).toBeGreaterThan(seen.heldFences[i] ?? Number.POSITIVE_INFINITY);
    });
  }, 90_000);

  test("semaphore waits share the same slots, and a waiter without a slot still gets its permit", async () => {
    const wire = workersConnections(fetch, isWaitingAcquire, 1_000);
    const locker = createLocker({
      adapter: httpAdapter({ url: service.url, token: TOKEN, fetch: wire.fetch, maxWaitingRequests: 1 }),
    });
    const [key = ""] = keysFor(1);
    const pool = locker.semaphore(key, { limit: 1 });
    const holder = await pool.tryAcquire({ ttlMs: 60_000 });
    const waits = [1, 2, 3].map(() => pool.acquire({ ttlMs: 10_000, waitMs: 20_000 }));
    await until(() => wire.waiting() === 1, 10_000);
    await sleep(300);
    expect(wire.maxWaiting()).toBe(1);
    await holder?.release();
    for (const permit of await Promise.all(waits.map((wait) => wait.then((permit) => permit.release())))) {
      expect(permit).toBeUndefined();
    }
    expect(wire.maxWaiting()).toBe(1);
  }, 60_000);

  test("elsewhere there is no limit by default; 0 makes every wait poll; bad values are refused", async () => {
    const wire = workersConnections(fetch, isWaitingAcquire, 1_000);
    const locker = createLocker({ adapter: httpAdapter({ url: service.url, token: TOKEN, fetch: wire.fetch }) });
    const seen = await holdWaitRelease(locker, wire, keysFor(8), { waitMs: 20_000, blocked: (n) => n === 8 });
    expect(wire.maxWaiting()).toBe(8);
    expect(seen.grantedFences).toHaveLength(8);

    const polling = workersConnections(fetch, isWaitingAcquire, 1_000);
    const poller = createLocker({
      adapter: httpAdapter({ url: service.url, token: TOKEN, fetch: polling.fetch, maxWaitingRequests: 0 }),
    });
    const [key = ""] = keysFor(1);
    const first = await poller.tryAcquire(key, { ttlMs: 300 });
    const second = await poller.acquire(key, { waitMs: 10_000 });
    expect(second.fence).toBeGreaterThan(first?.fence ?? Number.POSITIVE_INFINITY);
    expect(polling.waitingSent()).toBe(0);
    await second.release();

    for (const bad of [-1, 0.5, "2", Number.POSITIVE_INFINITY]) {
      expect(() => httpAdapter({ url: service.url, token: TOKEN, maxWaitingRequests: bad as number })).toThrow(
        InvalidArgumentError,
      );
    }
  }, 60_000);
});
