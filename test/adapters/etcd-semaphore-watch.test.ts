import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { etcdAdapter } from "../../adapters/etcd/index.js";
import { createLockService } from "../../service/app.js";
import { createLocker, LockAbortedError, newToken } from "../../src/index.js";
import { call } from "../http/helpers.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { sleep } from "../support/timing.js";

// A waiting permit acquire sleeps on a watch of the semaphore's slot keys.
// The waiters here poll with a 20 s backoff: only etcd's event can end
// their sleep within the test's bounds.
let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(() => etcd?.stop());

const SLOW_BACKOFF = { baseMs: 20_000, maxMs: 20_000 };
const instance = () => etcdAdapter({ endpoint: etcd.url, prefix: "semwatch/" });

describe("etcd: permit waits sleep on a watch of the slot keys", () => {
  test("a release of any permit wakes a waiter at once, not after its backoff", async () => {
    const key = `s-${newToken().slice(0, 12)}`;
    const holders = createLocker({ adapter: instance() }).semaphore(key, { limit: 2 });
    const [first, second] = await Promise.all([
      holders.tryAcquire({ ttlMs: 30_000 }),
      holders.tryAcquire({ ttlMs: 30_000 }),
    ]);
    const waiter = createLocker({ adapter: instance(), backoff: SLOW_BACKOFF }).semaphore(key, { limit: 2 });

    const started = Date.now();
    const waiting = waiter.acquire({ ttlMs: 10_000, waitMs: 30_000 });
    await sleep(500);
    await second?.release();
    const permit = await waiting;

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(permit.fence).toBeGreaterThan(0);
    await Promise.all([permit.release(), first?.release()]);
  }, 60_000);

  test("a permit whose holder dies wakes the waiter when etcd expires it", async () => {
    const key = `s-${newToken().slice(0, 12)}`;
    const holder = createLocker({ adapter: instance() }).semaphore(key, { limit: 1 });
    // etcd's TTLs are whole seconds: the permit ends within about 1–2 s, never released.
    expect(await holder.tryAcquire({ ttlMs: 1_000 })).not.toBeNull();
    const waiter = createLocker({ adapter: instance(), backoff: SLOW_BACKOFF }).semaphore(key, { limit: 1 });

    const started = Date.now();
    const permit = await waiter.acquire({ ttlMs: 10_000, waitMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(8_000);
    await permit.release();
  }, 60_000);

  test("an abort ends the sleep at once with LockAbortedError", async () => {
    const key = `s-${newToken().slice(0, 12)}`;
    const holder = await createLocker({ adapter: instance() })
      .semaphore(key, { limit: 1 })
      .tryAcquire({ ttlMs: 30_000 });
    const waiter = createLocker({ adapter: instance(), backoff: SLOW_BACKOFF }).semaphore(key, { limit: 1 });
    const controller = new AbortController();
    const waiting = waiter.acquire({ ttlMs: 10_000, waitMs: 30_000, signal: controller.signal });
    await sleep(500);
    const aborted = Date.now();
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(LockAbortedError);
    expect(Date.now() - aborted).toBeLessThan(1_000);
    await holder?.release();
  }, 60_000);

  test("through the HTTP service, a permit wait sleeps on a watch of the slots", async () => {
    const key = `s-${newToken().slice(0, 12)}`;
    const watched: string[] = [];
    const counting: typeof fetch = (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith("/v3/watch")) watched.push(String(init?.body));
      return fetch(input, init);
    };
    const adapter = etcdAdapter({ endpoint: etcd.url, prefix: "semwatch/", fetch: counting });
    const app = createLockService({ adapter, tokens: "semwatch-token" });
    const acquire = (body: unknown) =>
      call(app, "POST", `/v1/semaphores/${key}/acquire`, { token: "semwatch-token", body });
    const held = await acquire({ limit: 1, ttlMs: 30_000 });
    expect(held.status).toBe(200);
    const waiting = acquire({ limit: 1, ttlMs: 10_000, waitMs: 20_000 });
    await sleep(500);
    const released = Date.now();
    const release = await call(app, "POST", `/v1/semaphores/${key}/release`, {
      token: "semwatch-token",
      body: { token: held.json.token },
    });
    expect(release.status).toBe(200);
    const granted = await waiting;
    expect(granted.status).toBe(200);
    expect(Date.now() - released).toBeLessThan(2_000);
    // The slots' range, never the lock key alone.
    expect(watched.length).toBeGreaterThan(0);
    for (const body of watched) expect(body).toContain("range_end");
  }, 60_000);
});
