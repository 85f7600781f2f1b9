import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import {
  BackendError,
  BackendRejectedError,
  InvalidArgumentError,
  type LockAdapter,
  newToken,
} from "../../src/index.js";
import { describeConformance, type Wire } from "../conformance/index.js";
import { freePort } from "../support/ports.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

let upstash: UpstashFixture;
// @upstash/redis sends with the global fetch and takes no other: each user
// client gets its own path under the endpoint, and this router sends its
// requests through that client's wire, so they are counted and faulted where
// they really happen.
const realFetch = globalThis.fetch;
const clientWires = new Map<string, Wire>();
const routed: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const [, client, ...rest] = url.pathname.split("/");
  const wire = clientWires.get(client ?? "");
  if (!wire) return realFetch(input, init);
  url.pathname = `/${rest.join("/")}`;
  return wire.request((held) => realFetch(url, held ? { ...init, signal: null } : init), init?.signal ?? undefined);
};
beforeAll(async () => {
  upstash = await startUpstash();
  globalThis.fetch = routed;
});
afterAll(async () => {
  globalThis.fetch = realFetch;
  await upstash?.stop();
});

// Through the adapter's own requester: the suite counts and faults every HTTP request.
// One waiting slot per instance: waiters on one key block in their shared
// BLPOP, waiters on further keys of the same instance find no slot and are
// polled, so both ways of waiting run the whole suite.
describeConformance({
  name: "upstash",
  sendsRetryAfter: true,
  create: ({ fetch }) => upstashAdapter({ url: upstash.url, token: upstash.token, fetch, maxWaitingRequests: 1 }),
});

// Through a user's own @upstash/redis client (global fetch, base64 answers,
// auto-pipelining), one client per instance.
describeConformance({
  name: "upstash with a user's Redis client",
  sendsRetryAfter: true,
  create(wire) {
    const client = `user-client-${clientWires.size + 1}`;
    clientWires.set(client, wire);
    return upstashAdapter({
      // `retry: false` still makes two attempts per request in @upstash/redis 1.x (counted here): no retries at all,
      // so that the lock client's retries are the only ones, as the fault cases expect.
      redis: new Redis({
        url: `${upstash.url}/${client}`,
        token: upstash.token,
        retry: { retries: 0 },
        enableTelemetry: false,
      }),
      prefix: "user-client:",
    });
  },
});

describe("upstash specifics", () => {
  const counting = () => {
    const calls: string[] = [];
    const fetcher: typeof fetch = async (input, init) => {
      const [command] = JSON.parse(String(init?.body)) as unknown[];
      calls.push(String(command));
      return fetch(input, init);
    };
    return { calls, fetch: fetcher };
  };
  const adapter = (options: { prefix?: string; fetch?: typeof fetch } = {}): LockAdapter =>
    upstashAdapter({ url: upstash.url, token: upstash.token, ...options });

  test("keys are namespaced and hash-tagged; user data and other prefixes are untouched", async () => {
    await upstash.redis.set("job", "user data");
    const a = adapter({ prefix: "app-a:" });
    const b = adapter({ prefix: "app-b:" });
    const token = newToken();
    const grant = await a.acquire({ key: "job", token, ttlMs: 60_000, owner: "worker-1" });
    expect(grant).toMatchObject({ ok: true, fence: 1 });
    expect((await b.acquire({ key: "job", token: newToken(), ttlMs: 60_000 })).ok).toBe(true);
    expect(await upstash.redis.get("job")).toBe("user data");
    expect(await upstash.redis.hgetall("app-a:{job}:lock")).toEqual({ token, fence: "1", owner: "worker-1" });
    expect(await upstash.redis.get("app-a:{job}:fence")).toBe("1");
    // The counter never expires; the lock does.
    expect(await upstash.redis.pttl("app-a:{job}:fence")).toBe(-1);
    expect(await upstash.redis.pttl("app-a:{job}:lock")).toBeGreaterThan(50_000);
    expect((await upstash.redis.keys("app-*")).sort()).toEqual([
      "app-a:{job}:fence",
      "app-a:{job}:lock",
      "app-b:{job}:fence",
      "app-b:{job}:lock",
    ]);
  });

  test("the default prefix is edgelock:, and braces in keys cannot split a lock from its counter", async () => {
    const token = newToken();
    expect((await adapter().acquire({ key: "a}b%7D{c", token, ttlMs: 60_000 })).ok).toBe(true);
    expect(await upstash.redis.exists("edgelock:{a%7Db%257D{c}:lock", "edgelock:{a%7Db%257D{c}:fence")).toBe(2);
    // "a}b" and "a%7Db" must stay two different locks.
    expect((await adapter().acquire({ key: "a}b", token: newToken(), ttlMs: 60_000 })).ok).toBe(true);
    expect((await adapter().acquire({ key: "a%7Db", token: newToken(), ttlMs: 60_000 })).ok).toBe(true);
  });

  test("after SCRIPT FLUSH, EVALSHA's NOSCRIPT falls back to EVAL once, then one request again", async () => {
    const { calls, fetch } = counting();
    const a = adapter({ fetch });
    await upstash.redis.script("FLUSH");
    const token = newToken();
    expect((await a.acquire({ key: "noscript", token, ttlMs: 60_000 })).ok).toBe(true);
    expect(calls).toEqual(["evalsha", "eval"]);
    calls.length = 0;
    expect((await a.acquire({ key: "noscript", token, ttlMs: 60_000 })).ok).toBe(true);
    expect(calls).toEqual(["evalsha"]);
    // Each script is cached on its own first use.
    expect(await a.release({ key: "noscript", token })).toEqual({ ok: true });
    expect(calls).toEqual(["evalsha", "evalsha", "eval"]);
  });

  test("operations issued together share one /pipeline request, each with its own answer", async () => {
    const urls: string[] = [];
    const a = adapter({
      fetch: (input, init) => {
        urls.push(String(input));
        return fetch(input, init);
      },
    });
    const warm = newToken();
    await a.acquire({ key: "batch-warm", token: warm, ttlMs: 60_000 });
    await a.release({ key: "batch-warm", token: warm });
    urls.length = 0;

    const tokens = Array.from({ length: 32 }, () => newToken());
    const grants = await Promise.all(
      tokens.map((token, i) => a.acquire({ key: `batch-${i % 16}`, token, ttlMs: 60_000 })),
    );
    expect(urls).toEqual([`${upstash.url}/pipeline`]);
    // Two callers per key: exactly one of each pair is granted, the other refused.
    for (let i = 0; i < 16; i++) {
      const pair = [grants[i], grants[i + 16]];
      expect(pair.filter((grant) => grant?.ok)).toHaveLength(1);
      expect(pair.filter((grant) => grant?.ok === false)).toHaveLength(1);
    }
    urls.length = 0;
    const released = await Promise.all(tokens.map((token, i) => a.release({ key: `batch-${i % 16}`, token })));
    expect(urls).toEqual([`${upstash.url}/pipeline`]);
    expect(released.filter((answer) => answer.ok)).toHaveLength(16);
  });

  test("a release leaves one short-lived wake-up token; only the holder's release pushes it", async () => {
    const a = adapter();
    const token = newToken();
    await a.acquire({ key: "wake", token, ttlMs: 60_000 });
    expect(await a.release({ key: "wake", token: newToken() })).toEqual({ ok: false, reason: "not_held" });
    expect(await upstash.redis.exists("edgelock:{wake}:wake")).toBe(0);
    expect(await a.release({ key: "wake", token })).toEqual({ ok: true });
    await a.acquire({ key: "wake", token, ttlMs: 60_000 });
    expect(await a.release({ key: "wake", token })).toEqual({ ok: true });
    // Two releases, still one token (one freed lock wakes one waiter), and it expires by itself.
    expect(await upstash.redis.lrange("edgelock:{wake}:wake", 0, -1)).toEqual(["1"]);
    const pttl = await upstash.redis.pttl("edgelock:{wake}:wake");
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1_000);
  });

  test("a waiting acquire blocks in BLPOP as its own request and is woken by the release", async () => {
    const sent: string[] = [];
    const waiter = adapter({
      fetch: (input, init) => {
        const body = JSON.parse(String(init?.body)) as unknown[];
        sent.push(`${new URL(String(input)).pathname} ${String(body[0])}`);
        return fetch(input, init);
      },
    });
    expect(waiter.capabilities).toMatchObject({ pushWakeups: true, requestsPerPushWait: 2 });
    const holder = adapter();
    const token = newToken();
    await holder.acquire({ key: "push", token, ttlMs: 60_000 });
    const started = Date.now();
    const pending = waiter.acquire({ key: "push", token: newToken(), ttlMs: 60_000, waitMs: 30_000 });
    while (!sent.includes("/ blpop")) await new Promise((resolve) => setTimeout(resolve, 10));
    // Blocking does not hold back other commands, through the same endpoint.
    expect(await holder.inspect("push")).toMatchObject({ held: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await holder.release({ key: "push", token })).toEqual({ ok: true });
    const grant = await pending;
    expect(grant).toMatchObject({ ok: true });
    if (grant.ok) {
      expect(grant.waitedMs).toBeGreaterThanOrEqual(200);
      expect(grant.waitedMs).toBeLessThanOrEqual(Date.now() - started);
    }
    expect(sent.filter((line) => line !== "/ eval")).toEqual(["/ evalsha", "/ blpop", "/ evalsha"]);
  });

  test("a holder that dies without releasing is noticed at its expiry: the block is capped by its PTTL", async () => {
    const a = adapter();
    await a.acquire({ key: "dead", token: newToken(), ttlMs: 600 });
    const started = Date.now();
    const grant = await a.acquire({ key: "dead", token: newToken(), ttlMs: 60_000, waitMs: 30_000 });
    expect(grant).toMatchObject({ ok: true });
    // Well before the 30 s wait would have ended.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test("a lost or stolen wake-up costs latency, never safety", async () => {
    const a = adapter();
    const holderToken = newToken();
    await a.acquire({ key: "stolen", token: holderToken, ttlMs: 60_000 });
    const rival = newToken();
    const pending = a.acquire({ key: "stolen", token: newToken(), ttlMs: 60_000, waitMs: 1_500 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Someone takes the lock between the release and the woken waiter's attempt: the waiter blocks again.
    // Issued together, the release and the rival's acquire share one /pipeline: the rival is in before the woken waiter.
    await Promise.all([
      a.release({ key: "stolen", token: holderToken }),
      a.acquire({ key: "stolen", token: rival, ttlMs: 60_000 }),
    ]);
    const answer = await pending;
    expect(answer).toMatchObject({ ok: false, reason: "held" });
    const rivalGrant = await a.acquire({ key: "stolen", token: rival, ttlMs: 60_000 });
    expect(rivalGrant).toMatchObject({ ok: true });
    // A wake-up token nobody blocks on only costs the next waiter one more attempt.
    await upstash.redis.rpush("edgelock:{stolen}:wake", "1");
    const late = await a.acquire({ key: "stolen", token: newToken(), ttlMs: 60_000, waitMs: 300 });
    expect(late).toMatchObject({ ok: false, reason: "held" });
    await a.release({ key: "stolen", token: rival });
  });

  test("a user's own Redis client waits by polling: no BLPOP through a client that pipelines", () => {
    const viaClient = upstashAdapter({ redis: new Redis({ url: upstash.url, token: upstash.token, retry: false }) });
    expect(viaClient.capabilities.pushWakeups).toBe(false);
  });

  test("fences keep rising after the lock key is removed behind edgelock's back", async () => {
    const a = adapter();
    const first = await a.acquire({ key: "cleanup", token: newToken(), ttlMs: 60_000 });
    await upstash.redis.del("edgelock:{cleanup}:lock");
    const second = await a.acquire({ key: "cleanup", token: newToken(), ttlMs: 60_000 });
    if (!first.ok || !second.ok) throw new Error("expected grants");
    expect(second.fence).toBe(first.fence + 1);
  });

  test("a retried acquire refreshes its own TTL and keeps its fence", async () => {
    const a = adapter();
    const token = newToken();
    const first = await a.acquire({ key: "retry", token, ttlMs: 2_000 });
    const again = await a.acquire({ key: "retry", token, ttlMs: 60_000 });
    if (!first.ok || !again.ok) throw new Error("expected grants");
    expect(again.fence).toBe(first.fence);
    expect(again.ttlMs).toBe(60_000);
    expect(await upstash.redis.pttl("edgelock:{retry}:lock")).toBeGreaterThan(50_000);
  });

  test("expiry comes from Redis's clock and the refusal carries the holder's PTTL", async () => {
    const a = adapter();
    const [seconds, micros] = (await upstash.redis.time()) as [number, number];
    const redisNow = seconds * 1000 + Math.floor(micros / 1000);
    const grant = await a.acquire({ key: "clock", token: newToken(), ttlMs: 30_000 });
    if (!grant.ok) throw new Error("expected a grant");
    expect(grant.expiresAt - redisNow).toBeGreaterThanOrEqual(30_000);
    expect(grant.expiresAt - redisNow).toBeLessThan(31_000);
    const refusal = await a.acquire({ key: "clock", token: newToken(), ttlMs: 1_000 });
    expect(refusal).toMatchObject({ ok: false, reason: "held" });
    if (!refusal.ok) expect(refusal.retryAfterMs).toBeGreaterThan(29_000);
    const state = await a.inspect("clock");
    expect(state).toMatchObject({ held: true, fence: grant.fence });
    if (state.held) expect(Math.abs(state.expiresAt - grant.expiresAt)).toBeLessThan(50);
  });

  test("owners that look like JSON stay strings; the token never leaves Redis", async () => {
    for (const [client, label] of [
      [adapter(), "requester"],
      [upstashAdapter({ redis: new Redis({ url: upstash.url, token: upstash.token, retry: false }) }), "client"],
    ] as const) {
      for (const owner of ["123", "true", "null", '{"a":1}', "é 🔒"]) {
        const token = newToken();
        const key = `owner-${label}-${owner}`;
        await client.acquire({ key, token, ttlMs: 60_000, owner });
        const state = await client.inspect(key);
        expect(state).toMatchObject({ held: true, owner });
        expect(JSON.stringify(state)).not.toContain(token);
      }
    }
  });

  test("a wrong token is rejected as BackendRejectedError (401), through both paths", async () => {
    const wrong = upstashAdapter({ url: upstash.url, token: "wrong" });
    const error = await wrong.inspect("auth").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect((error as BackendRejectedError).status).toBe(401);
    const viaClient = upstashAdapter({ redis: new Redis({ url: upstash.url, token: "wrong", retry: false }) });
    const clientError = await viaClient.inspect("auth").catch((e: unknown) => e);
    expect(clientError).toBeInstanceOf(BackendRejectedError);
    expect((clientError as Error).cause).toBeInstanceOf(Error);
  });

  test("an unreachable endpoint is a retryable BackendError that may have been applied", async () => {
    const closed = upstashAdapter({ url: `http://127.0.0.1:${await freePort()}`, token: "t" });
    const error = await closed.acquire({ key: "down", token: newToken(), ttlMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ maybeApplied: true, retryable: true });
    expect((error as Error).cause).toBeDefined();
  });

  test("a 5xx answer is a BackendError that may have been applied, with its status", async () => {
    const failing: typeof fetch = async () => new Response("upstream exploded", { status: 502 });
    const error = await adapter({ fetch: failing })
      .release({ key: "5xx", token: newToken() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ maybeApplied: true, status: 502 });
  });

  test("foreign data at a lock key is a script error: BackendError with its cause, never a grant", async () => {
    await upstash.redis.set("edgelock:{foreign}:lock", "not a hash");
    const error = await adapter()
      .acquire({ key: "foreign", token: newToken(), ttlMs: 1_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ maybeApplied: true, retryable: false });
    expect(String((error as Error).cause)).toMatch(/WRONGTYPE/);
    expect(await upstash.redis.get("edgelock:{foreign}:lock")).toBe("not a hash");
  });

  test("the call's AbortSignal reaches fetch", async () => {
    let seen: AbortSignal | undefined;
    const spy: typeof fetch = (input, init) => {
      seen = init?.signal ?? undefined;
      return fetch(input, init);
    };
    const controller = new AbortController();
    controller.abort(new Error("gave up"));
    const error = await adapter({ fetch: spy })
      .inspect("aborted", { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(seen).toBe(controller.signal);
    expect(error).toBeInstanceOf(BackendError);
  });

  test("bad options are refused with InvalidArgumentError", () => {
    const bad: unknown[] = [
      undefined,
      {},
      { url: "ftp://x", token: "t" },
      { url: "not a url", token: "t" },
      { url: upstash.url, token: "" },
      { url: upstash.url, token: "t", fetch: "no" },
      { url: upstash.url, token: "t", prefix: "a{b" },
      { url: upstash.url, token: "t", prefix: "bad\nprefix" },
      { redis: {} },
      { redis: new Redis({ url: upstash.url, token: "t" }), url: upstash.url },
    ];
    for (const [index, options] of bad.entries()) {
      expect(() => upstashAdapter(options as never), `bad options #${index}`).toThrow(InvalidArgumentError);
    }
  });
});
