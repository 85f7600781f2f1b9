import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, test } from "vitest";
import { durableObjectAdapter, type LockObjectStub, WAIT_URL } from "../../adapters/durable-object/index.js";
import type { LockDurableObject } from "../../adapters/durable-object/object.js";
import { createLocker, newToken } from "../../src/index.js";
import { sleep } from "../support/timing.js";

let run = 0;
const key = (label: string) => `workers-${label}-${++run}-${Math.random().toString(36).slice(2, 8)}`;
const stubFor = (k: string) => env.LOCKS.get(env.LOCKS.idFromName(k));
const storedKeys = (k: string) =>
  runInDurableObject<LockDurableObject, string[]>(stubFor(k), (_, state) =>
    [...state.storage.kv.list()].map(([name]) => name),
  );
const alarmOf = (k: string) =>
  runInDurableObject<LockDurableObject, number | null>(stubFor(k), (_, state) => state.storage.getAlarm());

describe("LockDurableObject in workerd", () => {
  const adapter = durableObjectAdapter({ namespace: env.LOCKS });

  test("the adapter works over a real RPC stub: acquire, extend, inspect, release", async () => {
    const locker = createLocker({ adapter });
    const k = key("rpc");
    const lease = await locker.tryAcquire(k, { ttlMs: 5_000, owner: "workers-test" });
    if (!lease) throw new Error("expected a lease");
    await lease.extend(10_000);
    expect(await locker.inspect(k)).toMatchObject({ held: true, fence: lease.fence, owner: "workers-test" });
    await lease.release();
    expect(await locker.inspect(k)).toEqual({ held: false });
  });

  test("an alarm is set at the holder's expiry, not moved later by extend (it fires early and re-arms), and removed on release", async () => {
    const k = key("alarm");
    const token = newToken();
    const grant = await adapter.acquire({ key: k, token, ttlMs: 60_000 });
    if (!grant.ok) throw new Error("expected a grant");
    expect(await alarmOf(k)).toBe(grant.expiresAt);
    const extended = await adapter.extend({ key: k, token, ttlMs: 120_000 });
    if (!extended.ok) throw new Error("expected the extend to succeed");
    // An earlier alarm stays: moving it later would be a write on every extend and hand-off.
    expect(await alarmOf(k)).toBe(grant.expiresAt);
    expect(await runDurableObjectAlarm(stubFor(k))).toBe(true);
    expect(await alarmOf(k)).toBe(extended.expiresAt);
    await adapter.release({ key: k, token });
    expect(await alarmOf(k)).toBeNull();
  });

  test("an alarm that runs before the expiry leaves the holder and re-arms", async () => {
    const k = key("early-alarm");
    const grant = await adapter.acquire({ key: k, token: newToken(), ttlMs: 60_000 });
    if (!grant.ok) throw new Error("expected a grant");
    expect(await runDurableObjectAlarm(stubFor(k))).toBe(true);
    expect(await adapter.inspect(k)).toMatchObject({ held: true, fence: grant.fence });
    expect(await alarmOf(k)).toBe(grant.expiresAt);
  });

  test("the expiry alarm frees a dead holder and clears everything but the fence counter", async () => {
    const k = key("cleanup");
    const grant = await adapter.acquire({ key: k, token: newToken(), ttlMs: 50 });
    if (!grant.ok) throw new Error("expected a grant");
    expect((await storedKeys(k)).sort()).toEqual(["fence", "holder"]);
    // Let the alarm fire by itself: no request touches the object meanwhile.
    await sleep(300);
    expect(await storedKeys(k)).toEqual(["fence"]);
    expect(await alarmOf(k)).toBeNull();
    const next = await adapter.acquire({ key: k, token: newToken(), ttlMs: 1_000 });
    expect(next).toMatchObject({ ok: true, fence: grant.fence + 1 });
  });

  test("the fence counter survives the object being restarted, and so does the holder", async () => {
    const k = key("restart");
    const token = newToken();
    const grant = await adapter.acquire({ key: k, token, ttlMs: 30_000 });
    if (!grant.ok) throw new Error("expected a grant");
    // Drop the in-memory instance; storage stays.
    await expect(
      runInDurableObject(stubFor(k), (_, state) => {
        state.abort("restart");
      }),
    ).rejects.toThrow();
    expect(await adapter.inspect(k)).toMatchObject({ held: true, fence: grant.fence });
    expect(await adapter.acquire({ key: k, token, ttlMs: 30_000 })).toMatchObject({ ok: true, fence: grant.fence });
    await adapter.release({ key: k, token });
    expect(await adapter.acquire({ key: k, token: newToken(), ttlMs: 1_000 })).toMatchObject({
      fence: grant.fence + 1,
    });
  });

  test("a waiter is woken by the expiry alarm of a holder that died, and an aborted waiter leaves the queue", async () => {
    const k = key("handoff");
    // The dead holder must outlive the two waiters' arrival (20 ms apart when idle, far more when loaded).
    const dead = await adapter.acquire({ key: k, token: newToken(), ttlMs: 2_000 });
    if (!dead.ok) throw new Error("expected a grant");
    const controller = new AbortController();
    const gaveUp = adapter
      .acquire({ key: k, token: newToken(), ttlMs: 5_000, waitMs: 10_000, signal: controller.signal })
      .catch((e: unknown) => e);
    await sleep(20);
    const patient = adapter.acquire({ key: k, token: newToken(), ttlMs: 5_000, waitMs: 10_000 });
    await sleep(20);
    controller.abort(new Error("gave up"));
    expect(await gaveUp).toMatchObject({ code: "aborted" });
    const granted = await patient;
    expect(granted).toMatchObject({ ok: true, fence: dead.fence + 1 });
    expect((granted as { waitedMs?: number }).waitedMs).toBeGreaterThanOrEqual(100);
  });

  test("a caller that aborts its waiting fetch leaves the queue by itself, with no cancel call", async () => {
    const k = key("signal");
    const holder = newToken();
    await adapter.acquire({ key: k, token: holder, ttlMs: 30_000 });
    const stub = stubFor(k) as unknown as LockObjectStub;
    const token = newToken();
    const controller = new AbortController();
    const body = JSON.stringify({ token, ttlMs: 30_000, waitMs: 20_000 });
    const waiting = stub.fetch(WAIT_URL, { method: "POST", body, signal: controller.signal }).catch((e: unknown) => e);
    await sleep(50);
    controller.abort(new Error("caller went away"));
    expect(await waiting).toBeInstanceOf(Error);
    await sleep(50);
    // Already gone from the queue: nothing left to cancel, and the release hands the lock to nobody.
    expect(await stub.cancel({ token })).toEqual({ cancelled: false });
    expect(await adapter.release({ key: k, token: holder })).toEqual({ ok: true });
    expect(await adapter.inspect(k)).toEqual({ held: false });
  });

  test("a caller that aborted while the object was still reading its body is never queued", async () => {
    const k = key("aborted-early");
    const holder = newToken();
    await adapter.acquire({ key: k, token: holder, ttlMs: 30_000 });
    const stub = stubFor(k);
    const token = newToken();
    // The request reaches the object's fetch with its signal already aborted,
    // as when the caller gives up while the object awaits the body.
    const body = JSON.stringify({ token, ttlMs: 30_000, waitMs: 2_000 });
    const answered = runInDurableObject<LockDurableObject, unknown>(stub, (object) => {
      const gone = AbortSignal.abort(new Error("caller went away"));
      return object.fetch(new Request(WAIT_URL, { method: "POST", body, signal: gone })).then((r) => r.json());
    });
    await sleep(100);
    expect(await (stub as unknown as LockObjectStub).cancel({ token })).toEqual({ cancelled: false });
    expect(await answered).toEqual({ ok: false, reason: "cancelled" });
    expect(await adapter.release({ key: k, token: holder })).toEqual({ ok: true });
    expect(await adapter.inspect(k)).toEqual({ held: false });
  });

  test("hand-off inside workerd: 20 queued waiters, one stub call each to wait, granted in the order queued", async () => {
    const k = key("handoff");
    const holder = newToken();
    const first = await adapter.acquire({ key: k, token: holder, ttlMs: 30_000 });
    if (!first.ok) throw new Error("expected a grant");
    const n = 20;
    // Calls on the stubs, per waiter: where the requests really happen.
    const calls = Array.from({ length: n }, () => 0);
    const grants: { queuedAt: number; fence: number }[] = [];
    const tokens = Array.from({ length: n }, () => newToken());
    const done = tokens.map(async (token, i) => {
      // Spreads the arrivals; the order checked below is the object's own record, not this stagger.
      await sleep(i * 5);
      const counted = durableObjectAdapter({
        namespace: {
          idFromName: (name: string) => env.LOCKS.idFromName(name),
          get(id: unknown) {
            const stub = env.LOCKS.get(id);
            const count = <T>(call: () => Promise<T>) => {
              calls[i] = (calls[i] ?? 0) + 1;
              return call();
            };
            return {
              acquire: (call) => count(() => stub.acquire(call)),
              extend: (call) => count(() => stub.extend(call)),
              release: (call) => count(() => stub.release(call)),
              inspect: () => count(() => stub.inspect()),
              cancel: (call) => count(() => stub.cancel(call)),
              forceRelease: (call) => count(() => stub.forceRelease(call)),
              readValue: () => count(() => stub.readValue()),
              writeValue: (call) => count(() => stub.writeValue(call)),
              fetch: (url, init) => count(() => stub.fetch(url, init)),
            } satisfies LockObjectStub;
          },
        },
      });
      const answer = await counted.acquire({
        key: k,
        token,
        ttlMs: 30_000,
        waitMs: 20_000,
        signal: new AbortController().signal,
      });
      if (!answer.ok) throw new Error("expected a grant");
      grants.push({ queuedAt: answer.expiresAt - answer.ttlMs - (answer.waitedMs ?? 0), fence: answer.fence });
      expect(await counted.release({ key: k, token })).toEqual({ ok: true });
    });
    while (calls.some((c) => c < 1)) await sleep(5);
    expect(await adapter.inspect(k)).toMatchObject({ held: true, fence: first.fence });
    await adapter.release({ key: k, token: holder });
    await Promise.all(done);
    expect(grants).toHaveLength(n);
    expect(grants[0]?.fence).toBe(first.fence + 1);
    for (let i = 1; i < n; i++) {
      expect(grants[i]?.fence).toBe((grants[i - 1]?.fence ?? 0) + 1);
      expect(grants[i]?.queuedAt).toBeGreaterThanOrEqual(grants[i - 1]?.queuedAt ?? 0);
    }
    // One waiting acquire and one release each: no polling.
    expect(calls).toEqual(Array.from({ length: n }, () => 2));
    expect(await adapter.inspect(k)).toEqual({ held: false });
  });
});
