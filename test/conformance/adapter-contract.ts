import { expect, test } from "vitest";
import { newToken } from "../../src/index.js";
import type { AdapterAcquireResult } from "../../src/types.js";
import type { Suite } from "./context.js";

/** The adapter contract, called directly with raw tokens. */
export function adapterContract(suite: Suite): void {
  const key = (label: string) => `direct:${suite.key(label)}`;

  test("capabilities are complete and consistent", () => {
    const caps = suite.capabilities();
    expect(caps.name).toBeTypeOf("string");
    expect(["backend", "client"]).toContain(caps.clock);
    if (caps.clock === "backend") expect(caps.clockSkewMarginMs).toBe(0);
    else expect(caps.clockSkewMarginMs).toBeGreaterThan(0);
    expect(caps.ttl.minMs).toBeGreaterThanOrEqual(1);
    expect(caps.ttl.maxMs).toBeGreaterThanOrEqual(caps.ttl.minMs);
    expect(caps.ttl.granularityMs).toBeGreaterThanOrEqual(1);
    for (const op of ["acquire", "extend", "release", "inspect"] as const) {
      expect(Number.isInteger(caps.requestsPerOperation[op])).toBe(true);
    }
  });

  test("grants a free key with a safe-integer fence, the TTL granted and its expiry", async () => {
    const k = key("grant");
    const token = newToken();
    const ttlMs = suite.ttlMs(4);
    const before = Date.now();
    const grant = await suite.adapter().acquire({ key: k, token, ttlMs, owner: "worker é/1" });
    if (!grant.ok) throw new Error("expected a grant");
    expect(Number.isSafeInteger(grant.fence)).toBe(true);
    expect(grant.fence).toBeGreaterThan(0);
    expect(grant.ttlMs).toBeGreaterThanOrEqual(ttlMs);
    // Expiry is stated by the authority clock: allow a little skew between it and ours.
    expect(grant.expiresAt).toBeGreaterThan(before + grant.ttlMs - 2_000);
    expect(grant.expiresAt).toBeLessThan(Date.now() + grant.ttlMs + 2_000);
    const state = await suite.adapter().inspect(k);
    // Every adapter keeps the owner, and shows it to anyone who inspects.
    expect(state).toMatchObject({ held: true, fence: grant.fence, owner: "worker é/1" });
    expect(await (await suite.instance()).adapter.inspect(k)).toMatchObject({ held: true, owner: "worker é/1" });
    expect(JSON.stringify(state)).not.toContain(token);
    expect((await suite.adapter().release({ key: k, token })).ok).toBe(true);
  });

  test("refuses a held key with the holder's remaining time, and leaves the holder alone", async () => {
    const k = key("refuse");
    const holder = newToken();
    const ttlMs = suite.ttlMs(4);
    const grant = await suite.adapter().acquire({ key: k, token: holder, ttlMs });
    expect(grant.ok).toBe(true);
    if (!grant.ok) throw new Error("expected a grant");
    const other = await suite.instance();
    for (const adapter of [suite.adapter(), other.adapter]) {
      const refusal = await adapter.acquire({ key: k, token: newToken(), ttlMs });
      expect(refusal).toMatchObject({ ok: false, reason: "held" });
      checkRetryAfter(suite, refusal, grant.ttlMs);
    }
    const state = await suite.adapter().inspect(k);
    expect(state).toMatchObject({ held: true, fence: grant.fence });
    await suite.adapter().release({ key: k, token: holder });
  });

  test("acquire with the holder's own token answers with the same fence (retry after a lost response)", async () => {
    const k = key("idempotent");
    const token = newToken();
    const ttlMs = suite.ttlMs(4);
    const first = await suite.adapter().acquire({ key: k, token, ttlMs });
    if (!first.ok) throw new Error("expected a grant");
    const again = await suite.adapter().acquire({ key: k, token, ttlMs });
    // Another instance (a retry routed to another process) recognises the holder too.
    const elsewhere = await (await suite.instance()).adapter.acquire({ key: k, token, ttlMs });
    expect(again).toMatchObject({ ok: true, fence: first.fence });
    expect(elsewhere).toMatchObject({ ok: true, fence: first.fence });
    expect(await suite.adapter().inspect(k)).toMatchObject({ held: true, fence: first.fence });
    await suite.adapter().release({ key: k, token });
  });

  test("a token that acquires again after its own release gets a greater fence, on any instance", async () => {
    const k = key("same-token");
    const token = newToken();
    const ttlMs = suite.ttlMs(4);
    const other = await suite.instance();
    let last = 0;
    for (const adapter of [suite.adapter(), suite.adapter(), other.adapter, suite.adapter()]) {
      const grant = await adapter.acquire({ key: k, token, ttlMs });
      if (!grant.ok) throw new Error("expected a grant");
      // Only a retry while the token still holds the key may get the same fence.
      expect(grant.fence).toBeGreaterThan(last);
      last = grant.fence;
      expect(await adapter.release({ key: k, token })).toEqual({ ok: true });
    }
  });

  test("a lock taken by one instance is extended and released by another that holds its token", async () => {
    const k = key("resume");
    const token = newToken();
    const ttlMs = suite.ttlMs(4);
    const grant = await suite.adapter().acquire({ key: k, token, ttlMs, owner: "first" });
    if (!grant.ok) throw new Error("expected a grant");
    const other = (await suite.instance()).adapter;
    expect(await other.extend({ key: k, token, ttlMs })).toMatchObject({ ok: true, fence: grant.fence });
    expect(await other.release({ key: k, token: newToken() })).toEqual({ ok: false, reason: "not_held" });
    expect(await suite.adapter().inspect(k)).toMatchObject({ held: true, fence: grant.fence });
    expect(await other.release({ key: k, token })).toEqual({ ok: true });
    expect(await suite.adapter().inspect(k)).toEqual({ held: false });
    expect(await suite.adapter().release({ key: k, token })).toEqual({ ok: false, reason: "not_held" });
    expect(await suite.adapter().extend({ key: k, token, ttlMs })).toEqual({ ok: false, reason: "not_held" });
  });

  test("a retried acquire is honest about the time left: the lock is held as long as its grant says", async () => {
    const k = key("retry-ttl");
    const token = newToken();
    const margin = suite.capabilities().clockSkewMarginMs;
    // Checking takes an inspect and an acquire: leave room for their requests, as slow as a slow one of
    // this run, and a TTL long enough to hold that room twice over.
    const { inspect, acquire } = suite.capabilities().requestsPerOperation;
    const room = Math.max(3, inspect + acquire + 1) * suite.transport.slowMs() + 250;
    const ttlMs = Math.min(
      suite.capabilities().ttl.maxMs,
      Math.ceil(Math.max(suite.shortTtlMs(), 4 * room + 2 * margin)),
    );
    const first = await suite.adapter().acquire({ key: k, token, ttlMs });
    if (!first.ok) throw new Error("expected a grant");
    await new Promise((resolve) => setTimeout(resolve, ttlMs / 2));
    const sentAt = Date.now();
    const again = await suite.adapter().acquire({ key: k, token, ttlMs });
    if (!again.ok) throw new Error("the holder's own retry was refused");
    expect(again.fence).toBe(first.fence);
    // Just before the deadline the retry's grant implies, the lock must still be ours.
    const deadline = sentAt + again.ttlMs - margin;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - room - Date.now())));
    const checkedAt = Date.now();
    expect(await suite.adapter().inspect(k)).toMatchObject({ held: true, fence: first.fence });
    expect(await suite.adapter().acquire({ key: k, token: newToken(), ttlMs })).toMatchObject({ ok: false });
    // The check proves something only if it was sent before the deadline.
    expect(checkedAt).toBeLessThan(deadline);
    await suite.adapter().release({ key: k, token });
  }, 150_000);

  test("release: by the holder frees; again, or by another token, answers not_held", async () => {
    const k = key("release");
    const holder = newToken();
    const ttlMs = suite.ttlMs(4);
    const grant = await suite.adapter().acquire({ key: k, token: holder, ttlMs });
    expect(grant.ok).toBe(true);
    expect(await suite.adapter().release({ key: k, token: newToken() })).toEqual({ ok: false, reason: "not_held" });
    expect(await suite.adapter().inspect(k)).toMatchObject({ held: true });
    expect(await suite.adapter().release({ key: k, token: holder })).toEqual({ ok: true });
    expect(await suite.adapter().inspect(k)).toEqual({ held: false });
    expect(await suite.adapter().release({ key: k, token: holder })).toEqual({ ok: false, reason: "not_held" });
  });

  test("extend: the holder keeps its fence and gets a later expiry; another token gets not_held", async () => {
    const k = key("extend");
    const holder = newToken();
    const ttlMs = suite.ttlMs(2);
    const grant = await suite.adapter().acquire({ key: k, token: holder, ttlMs });
    if (!grant.ok) throw new Error("expected a grant");
    expect(await suite.adapter().extend({ key: k, token: newToken(), ttlMs })).toEqual({
      ok: false,
      reason: "not_held",
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const extended = await suite.adapter().extend({ key: k, token: holder, ttlMs: suite.ttlMs(4) });
    if (!extended.ok) throw new Error("expected the holder's extend to succeed");
    expect(extended.fence).toBe(grant.fence);
    expect(extended.ttlMs).toBeGreaterThanOrEqual(suite.ttlMs(4));
    expect(extended.expiresAt).toBeGreaterThan(grant.expiresAt);
    await suite.adapter().release({ key: k, token: holder });
    expect(await suite.adapter().extend({ key: k, token: holder, ttlMs })).toEqual({ ok: false, reason: "not_held" });
  });

  test("a key never held inspects as free, and its release and extend answer not_held", async () => {
    const k = key("never");
    expect(await suite.adapter().inspect(k)).toEqual({ held: false });
    expect(await suite.adapter().release({ key: k, token: newToken() })).toEqual({ ok: false, reason: "not_held" });
    const ttlMs = suite.shortTtlMs();
    expect(await suite.adapter().extend({ key: k, token: newToken(), ttlMs })).toEqual({
      ok: false,
      reason: "not_held",
    });
  });

  test("fences strictly increase over many acquire/release cycles", async () => {
    const k = key("fences");
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const token = newToken();
      const grant = await suite.adapter().acquire({ key: k, token, ttlMs: suite.ttlMs(4) });
      if (!grant.ok) throw new Error("expected a grant");
      expect(grant.fence).toBeGreaterThan(last);
      last = grant.fence;
      expect((await suite.adapter().release({ key: k, token })).ok).toBe(true);
    }
  });

  test("each operation costs the backend requests the adapter declares, counted where they are sent", () =>
    assertRequestCosts(suite));
}

/** `retryAfterMs`, where a refusal carries one (and always, where the target says it does), is within bounds. */
export function checkRetryAfter(suite: Suite, refusal: AdapterAcquireResult, holderTtlMs: number): void {
  if (refusal.ok) return;
  if (suite.target.sendsRetryAfter) expect(refusal.retryAfterMs).toBeTypeOf("number");
  if (refusal.retryAfterMs === undefined) return;
  const caps = suite.capabilities();
  expect(refusal.retryAfterMs).toBeGreaterThan(0);
  expect(refusal.retryAfterMs).toBeLessThanOrEqual(holderTtlMs + caps.clockSkewMarginMs + caps.ttl.granularityMs);
}

/**
 * The request-count case, exported so a test can prove it fails against an
 * adapter that declares the wrong numbers.
 */
export async function assertRequestCosts(suite: Suite): Promise<void> {
  const locker = suite.locker();
  const k = suite.key("cost");
  const ttlMs = suite.ttlMs(4);
  // Warm-up: one-time work (script loading, container creation) is not counted.
  const warm = await locker.tryAcquire(k, { ttlMs });
  await warm?.extend();
  await locker.inspect(k);
  await warm?.release();

  const counted = async (operation: () => Promise<unknown>) => {
    const before = suite.transport.requests;
    await operation();
    return suite.transport.requests - before;
  };
  let lease: Awaited<ReturnType<typeof locker.tryAcquire>> = null;
  const cost = {
    acquire: await counted(async () => {
      lease = await locker.tryAcquire(k, { ttlMs });
    }),
    extend: await counted(() => lease?.extend() ?? Promise.reject(new Error("no lease"))),
    inspect: await counted(() => locker.inspect(k)),
    release: await counted(() => lease?.release() ?? Promise.reject(new Error("no lease"))),
  };
  const caps = suite.capabilities();
  expect(cost).toEqual({ ...caps.requestsPerOperation });
  // Native fencing bumps the fence in the grant's own request; otherwise it takes a second one.
  if (caps.fencing.native) expect(cost.acquire).toBeLessThanOrEqual(1 + (suite.target.preGrantRequests ?? 0));
  else expect(cost.acquire).toBeGreaterThanOrEqual(2);
  if (suite.target.backendRequests) {
    const backend = suite.target.backendRequests;
    const served: Record<string, number> = {};
    let before = backend();
    const lease = await locker.tryAcquire(k, { ttlMs });
    served.acquire = backend() - before;
    before = backend();
    await lease?.extend();
    served.extend = backend() - before;
    before = backend();
    await locker.inspect(k);
    served.inspect = backend() - before;
    before = backend();
    await lease?.release();
    served.release = backend() - before;
    console.info(`${suite.name}: backend requests the service sent per call: ${JSON.stringify(served)}`);
    // Each call reached the backend through the service.
    for (const op of ["acquire", "extend", "inspect", "release"]) expect(served[op]).toBeGreaterThanOrEqual(1);
  }
}
