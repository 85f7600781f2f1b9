import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { fencedHashSet, upstashAdapter } from "../../adapters/upstash/index.js";
import { createLocker, InvalidArgumentError, newToken } from "../../src/index.js";
import { sleep } from "../support/timing.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
});
afterAll(() => upstash?.stop());

const client = () => new Redis({ url: upstash.url, token: upstash.token, retry: false, enableTelemetry: false });

describe("upstash fenced writes to the user's own keys", () => {
  test("a holder pauses past its TTL, another takes over and writes, the paused holder's late write is refused", async () => {
    const key = `report:${newToken()}`;
    const locker = () => createLocker({ adapter: upstashAdapter({ url: upstash.url, token: upstash.token }) });
    const paused = await locker().acquire(key, { ttlMs: 300 });
    await sleep(500);
    const next = await locker().acquire(key, { ttlMs: 10_000 });
    const redis = client();
    expect(await fencedHashSet(redis, key, next.fence, { status: "done", by: "next" })).toEqual({ ok: true });
    expect(await fencedHashSet(redis, key, next.fence, { by: "next again" })).toEqual({ ok: true });
    expect(await fencedHashSet(redis, key, paused.fence, { status: "late", by: "paused" })).toEqual({
      ok: false,
      highest: next.fence,
    });
    expect(await upstash.redis.hgetall(key)).toEqual({ status: "done", by: "next again", fence: String(next.fence) });
    await next.release();
  }, 30_000);

  test("once refuses the same fence twice; a custom fence field; bad arguments refused before any request", async () => {
    const key = `custom:${newToken()}`;
    const redis = client();
    expect(await fencedHashSet(redis, key, 4, { a: "1" }, { fenceField: "epoch", once: true })).toEqual({ ok: true });
    expect(await fencedHashSet(redis, key, 4, { a: "2" }, { fenceField: "epoch", once: true })).toEqual({
      ok: false,
      highest: 4,
    });
    expect(await upstash.redis.hgetall(key)).toEqual({ a: "1", epoch: "4" });
    await expect(fencedHashSet(redis, key, 0, {})).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(fencedHashSet(redis, key, 5, { fence: "x" })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(fencedHashSet(redis, key, 5, { n: 1 as unknown as string })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
