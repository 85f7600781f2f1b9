import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startUpstash, type UpstashFixture } from "./upstash-rest.js";

// The fixture is checked with the client it stands in for: if @upstash/redis
// cannot talk to it, nothing built on it proves anything.
describe("Upstash REST fixture, through @upstash/redis", () => {
  let upstash: UpstashFixture;
  const client = (options: { token?: string; responseEncoding?: false; enableAutoPipelining?: boolean } = {}) =>
    new Redis({
      url: upstash.url,
      token: options.token ?? upstash.token,
      enableTelemetry: false,
      retry: false,
      ...(options.responseEncoding === false ? { responseEncoding: false } : {}),
      enableAutoPipelining: options.enableAutoPipelining ?? false,
    });

  beforeAll(async () => {
    upstash = await startUpstash();
  });
  afterAll(() => upstash?.stop());

  test("single commands reach the real Redis, numbers and nil included", async () => {
    const redis = client();
    expect(await redis.set("fx:single", "v1", { px: 60_000 })).toBe("OK");
    expect(await redis.get("fx:single")).toBe("v1");
    expect(await redis.incr("fx:counter")).toBe(1);
    expect(await redis.get("fx:missing")).toBeNull();
    expect(await upstash.redis.get("fx:single")).toBe("v1");
    const pttl = await upstash.redis.pttl("fx:single");
    expect(pttl).toBeGreaterThan(50_000);
  });

  test("with and without base64 encoding, Unicode and nested arrays come back intact", async () => {
    const text = '🔒 é\u00a0日本 {"json": 1}';
    for (const redis of [client(), client({ responseEncoding: false })]) {
      await redis.set("fx:unicode", text);
      await redis.rpush("fx:list", "a", "ü");
      expect(await redis.get("fx:unicode")).toBe(text);
      expect(await redis.eval("return {1, 'x', {2, 'é'}, ARGV[1]}", [], [text])).toEqual([1, "x", [2, "é"], text]);
      await redis.del("fx:list");
    }
  });

  test("the answer really is base64 when asked for, and plain otherwise", async () => {
    await upstash.redis.set("fx:raw", "hello");
    const ask = (headers: Record<string, string>) =>
      fetch(upstash.url, {
        method: "POST",
        headers: { authorization: `Bearer ${upstash.token}`, ...headers },
        body: JSON.stringify(["eval", "return {ARGV[1], 7, false}", 0, "hello"]),
      }).then((response) => response.json());
    expect(await ask({ "upstash-encoding": "base64" })).toEqual({ result: ["aGVsbG8=", 7, null] });
    expect(await ask({})).toEqual({ result: ["hello", 7, null] });
  });

  test("auto-pipelining sends concurrent commands to /pipeline, each with its own answer or error", async () => {
    const redis = client({ enableAutoPipelining: true });
    const before = upstash.requests();
    const [a, b, wrong] = await Promise.allSettled([
      redis.set("fx:p1", "1"),
      redis.incr("fx:p-counter"),
      redis.lpush("fx:p1", "x"),
    ]);
    expect(upstash.requests() - before).toBe(1);
    expect(a).toEqual({ status: "fulfilled", value: "OK" });
    expect(b).toEqual({ status: "fulfilled", value: 1 });
    expect(wrong.status).toBe("rejected");
    expect(String((wrong as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
  });

  test("explicit pipeline and multi-exec", async () => {
    const redis = client();
    const pipeline = redis.pipeline();
    pipeline.set("fx:tx", "a").append("fx:tx", "b").get("fx:tx");
    expect(await pipeline.exec()).toEqual(["OK", 2, "ab"]);
    const tx = redis.multi();
    tx.incr("fx:tx-counter").incr("fx:tx-counter");
    expect(await tx.exec()).toEqual([1, 2]);
    const failing = redis.pipeline();
    failing.set("fx:tx2", "x").lpush("fx:tx2", "y");
    const kept = await failing.exec({ keepErrors: true });
    expect(kept[0]).toEqual({ result: "OK", error: undefined });
    expect(kept[1]?.error).toMatch(/WRONGTYPE/);
  });

  test("errors are non-2xx with the Redis message, and the client throws it", async () => {
    const redis = client();
    await redis.set("fx:string", "x");
    await expect(redis.lpush("fx:string", "y")).rejects.toThrow(/WRONGTYPE/);
    const response = await fetch(upstash.url, {
      method: "POST",
      headers: { authorization: `Bearer ${upstash.token}` },
      body: JSON.stringify(["nosuchcommand"]),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: expect.stringMatching(/unknown command/i) });
  });

  test("a wrong or missing token gets 401 with an error body", async () => {
    await expect(client({ token: "wrong" }).get("fx:any")).rejects.toThrow(/Unauthorized/);
    const response = await fetch(upstash.url, { method: "POST", body: JSON.stringify(["ping"]) });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "Unauthorized" });
  });

  test("EVALSHA of an unknown script answers the real NOSCRIPT error; createScript falls back to EVAL", async () => {
    const redis = client();
    await upstash.redis.script("FLUSH");
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT No matching script/);
    const script = redis.createScript<number>("return 40 + tonumber(ARGV[1])");
    const before = upstash.requests();
    expect(await script.exec([], ["2"])).toBe(42);
    expect(upstash.requests() - before).toBe(2);
    expect(await script.exec([], ["3"])).toBe(43);
    expect(upstash.requests() - before).toBe(3);
  });

  test("a blocking BLPOP runs on its own connection: other commands go on meanwhile; a push ends it", async () => {
    const post = (body: unknown, path = "") =>
      fetch(`${upstash.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${upstash.token}` },
        body: JSON.stringify(body),
      });
    const started = Date.now();
    const blocked = post(["blpop", "fx:wake", "10"]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Served while the BLPOP blocks: a shared connection would queue it behind the block.
    expect(await client().get("fx:missing")).toBeNull();
    await client().rpush("fx:wake", "token");
    const answer = await blocked;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ result: ["fx:wake", "token"] });
    expect(Date.now() - started).toBeLessThan(5_000);
    // A timeout answers nil; blocking commands are refused in a pipeline, as Upstash does.
    expect(await (await post(["blpop", "fx:wake", "0.05"])).json()).toEqual({ result: null });
    const batched = await post([["blpop", "fx:wake", "1"]], "/pipeline");
    expect(batched.status).toBe(400);
  });

  test("only POST is served", async () => {
    const response = await fetch(upstash.url, { headers: { authorization: `Bearer ${upstash.token}` } });
    expect(response.status).toBe(405);
  });
});
