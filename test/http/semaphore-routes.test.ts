import { describe, expect, test } from "vitest";
import { createLockService } from "../../service/app.js";
import { type LockAdapter, memoryAdapter, newToken } from "../../src/index.js";
import { type Answer, call } from "./helpers.js";

const A = "token-tenant-a-0001";
const B = "token-tenant-b-0002";
const app = createLockService({ adapter: memoryAdapter(), tokens: `${A}, ${B}`, maxWaitMs: 5_000, onError: () => {} });
let counter = 0;
const fresh = () => `sem-${++counter}`;
const path = (key: string, action = "") => `/v1/semaphores/${encodeURIComponent(key)}${action}`;
const acquire = (key: string, body: unknown, token = A) => call(app, "POST", path(key, "/acquire"), { token, body });

function expectError(answer: Answer, status: number, error: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(answer.json.error).toBe(error);
  expect(answer.text).not.toMatch(/\n\s+at |Error:/);
}

describe("/v1/semaphores/{key}", () => {
  test("acquire grants up to the limit, then 409 full with retryAfterMs; inspect lists permits without tokens", async () => {
    const key = fresh();
    const grants = [await acquire(key, { limit: 2, ttlMs: 5_000 }), await acquire(key, { limit: 2, ttlMs: 5_000 })];
    for (const grant of grants) {
      expect(grant.status).toBe(200);
      expect(Object.keys(grant.json).sort()).toEqual(["expiresAt", "fence", "key", "token", "ttlMs"]);
    }
    expect(grants[1]?.json.fence).toBeGreaterThan(grants[0]?.json.fence as number);
    const full = await acquire(key, { limit: 2, ttlMs: 5_000 });
    expectError(full, 409, "full");
    expect(full.json.retryAfterMs).toBeGreaterThan(0);
    const state = await call(app, "GET", path(key), { token: A });
    expect(state.status).toBe(200);
    expect(state.json).toMatchObject({ key, limit: 2 });
    expect(state.json.permits).toHaveLength(2);
    for (const grant of grants) expect(state.text).not.toContain(grant.json.token as string);
    const token = grants[0]?.json.token as string;
    expect((await call(app, "POST", path(key, "/extend"), { token: A, body: { token, ttlMs: 5_000 } })).status).toBe(
      200,
    );
    expect((await call(app, "POST", path(key, "/release"), { token: A, body: { token } })).json).toEqual({
      released: true,
    });
    expectError(await call(app, "POST", path(key, "/release"), { token: A, body: { token } }), 409, "not_held");
  });

  test("a different limit while permits are live is 409 limit_mismatch with the limit in force", async () => {
    const key = fresh();
    expect((await acquire(key, { limit: 3, ttlMs: 5_000 })).status).toBe(200);
    const answer = await acquire(key, { limit: 4, ttlMs: 5_000, waitMs: 2_000 });
    expectError(answer, 409, "limit_mismatch");
    expect(answer.json.limit).toBe(3);
  });

  test("a retried acquire with the same token gets the same permit", async () => {
    const key = fresh();
    const token = newToken();
    const first = await acquire(key, { limit: 1, ttlMs: 5_000, token });
    const again = await acquire(key, { limit: 1, ttlMs: 5_000, token });
    expect(again.json.fence).toBe(first.json.fence);
  });

  test("a waiting acquire is granted on the service's side when a permit frees", async () => {
    const key = fresh();
    const holder = await acquire(key, { limit: 1, ttlMs: 5_000 });
    const waiting = acquire(key, { limit: 1, ttlMs: 5_000, waitMs: 4_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await call(app, "POST", path(key, "/release"), { token: A, body: { token: holder.json.token } });
    const granted = await waiting;
    expect(granted.status).toBe(200);
    expect(Number(granted.headers.get("edgelock-waited-ms"))).toBeGreaterThan(0);
  });

  test("a release with a waiting acquire's token withdraws it; a lock wait with that token on the same name stays", async () => {
    const key = fresh();
    expect((await acquire(key, { limit: 1, ttlMs: 5_000 })).status).toBe(200);
    expect((await call(app, "POST", `/v1/locks/${key}/acquire`, { token: A, body: { ttlMs: 5_000 } })).status).toBe(
      200,
    );
    const t = newToken();
    const waiting = acquire(key, { limit: 1, ttlMs: 5_000, waitMs: 4_000, token: t });
    const lockWait = call(app, "POST", `/v1/locks/${key}/acquire`, {
      token: A,
      body: { ttlMs: 5_000, waitMs: 1_000, token: t },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    expectError(await call(app, "POST", path(key, "/release"), { token: A, body: { token: t } }), 409, "not_held");
    expectError(await waiting, 409, "full");
    // Well before its 4 s deadline (a withdrawn wait ends at its next poll, at most 500 ms on).
    expect(Date.now() - started).toBeLessThan(3_000);
    // The lock wait ran to its own deadline, 1 s after it began: the semaphore's release did not withdraw it.
    expectError(await lockWait, 409, "locked");
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
  });

  test("semaphore waits count against the service's waiter cap, shared with lock waits", async () => {
    const capped = createLockService({ adapter: memoryAdapter(), tokens: A, maxWaiters: 2, onError: () => {} });
    const key = fresh();
    const send = (route: string, body: unknown) => call(capped, "POST", route, { token: A, body });
    expect((await send(path(key, "/acquire"), { limit: 1, ttlMs: 5_000 })).status).toBe(200);
    expect((await send(`/v1/locks/${key}/acquire`, { ttlMs: 5_000 })).status).toBe(200);
    const waits = [
      send(path(key, "/acquire"), { limit: 1, ttlMs: 5_000, waitMs: 600 }),
      send(`/v1/locks/${key}/acquire`, { ttlMs: 5_000, waitMs: 600 }),
    ];
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await send(path(key, "/acquire"), { limit: 1, ttlMs: 5_000, waitMs: 600 });
    expectError(refused, 429, "too_many_waiters");
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await Promise.all(waits)).map((answer) => answer.status)).toEqual([409, 409]);
    // The places are given back.
    expectError(await send(path(key, "/acquire"), { limit: 1, ttlMs: 5_000, waitMs: 50 }), 409, "full");
  });

  test("bad input is a 4xx JSON answer and touches nothing", async () => {
    const key = fresh();
    for (const body of [{ ttlMs: 5_000 }, { limit: 0, ttlMs: 5_000 }, { limit: 1.5, ttlMs: 5_000 }, { limit: 2 }]) {
      expectError(await acquire(key, body), 400, "invalid_request");
    }
    expectError(await acquire(key, { limit: 2, ttlMs: 5_000, extra: 1 }), 400, "invalid_request");
    expectError(await acquire(key, { limit: 20_000, ttlMs: 5_000 }), 400, "invalid_request");
    expectError(
      await call(app, "POST", path(key, "/acquire"), { body: { limit: 1, ttlMs: 5_000 } }),
      401,
      "unauthorized",
    );
    expectError(await call(app, "GET", path(key, "/acquire"), { token: A }), 405, "method_not_allowed");
    expectError(await call(app, "POST", path(key, "/nope"), { token: A, body: {} }), 404, "not_found");
    expect((await call(app, "GET", path(key), { token: A })).json).toMatchObject({ limit: null, permits: [] });
  });

  test("tenants do not see each other's semaphores", async () => {
    const key = fresh();
    expect((await acquire(key, { limit: 1, ttlMs: 5_000 }, A)).status).toBe(200);
    expect((await acquire(key, { limit: 1, ttlMs: 5_000 }, B)).status).toBe(200);
  });

  test("a backend without semaphores answers 404, and OpenAPI lists the routes", async () => {
    const bare: LockAdapter = { ...memoryAdapter(), semaphores: undefined };
    const service = createLockService({ adapter: bare, tokens: A, onError: () => {} });
    expectError(
      await call(service, "POST", path("k", "/acquire"), { token: A, body: { limit: 1, ttlMs: 5_000 } }),
      404,
      "not_found",
    );
    const doc = (await call(app, "GET", "/v1/openapi.json")).json as { paths: Record<string, unknown> };
    for (const route of ["", "/acquire", "/extend", "/release"]) {
      expect(Object.keys(doc.paths)).toContain(`/v1/semaphores/{key}${route}`);
    }
  });
});
