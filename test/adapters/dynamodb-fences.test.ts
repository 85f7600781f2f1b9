import { DeleteItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, test } from "vitest";
import { DYNAMODB_PARTITION_KEY, DYNAMODB_TTL_ATTRIBUTE, FENCE_BASE_PER_MS } from "../../adapters/dynamodb/index.js";
import { newToken } from "../../src/index.js";
import { TABLE, useDynamoDBLocal } from "./dynamodb-fixture.js";

// Fences on DynamoDB: a time base for new items, so they keep rising when TTL
// cleanup deletes an idle item, and a retry by the holder keeps its grant.

const { rawClient, rawItem, adapter } = useDynamoDBLocal();

describe("dynamodb adapter", () => {
  test("a new item's fence starts from the clock × 1000; the fence survives release", async () => {
    const a = adapter();
    const key = `base-${newToken()}`;
    const before = Date.now();
    const first = await a.acquire({ key, token: "t1", ttlMs: 5_000 });
    if (!first.ok) throw new Error("expected a grant");
    expect(first.fence).toBeGreaterThan(before * FENCE_BASE_PER_MS);
    expect(first.fence).toBeLessThanOrEqual(Date.now() * FENCE_BASE_PER_MS + 1);
    await a.release({ key, token: "t1" });
    const item = await rawItem(key);
    expect(item?.fence?.N).toBe(String(first.fence));
    expect(item?.token).toBeUndefined();
    expect(item?.expiresAt).toBeUndefined();
    expect(Number(item?.[DYNAMODB_TTL_ATTRIBUTE]?.N)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 86_000);
  });

  test("fences never go backwards after TTL cleanup deletes an idle item", async () => {
    const a = adapter();
    const key = `cleanup-${newToken()}`;
    let last = 0;
    for (let i = 0; i < 5; i++) {
      const grant = await a.acquire({ key, token: `t${i}`, ttlMs: 5_000 });
      if (!grant.ok) throw new Error("expected a grant");
      expect(grant.fence).toBeGreaterThan(last);
      last = grant.fence;
      await a.release({ key, token: `t${i}` });
    }
    // What DynamoDB TTL does to an idle item: delete it outright.
    await rawClient().send(new DeleteItemCommand({ TableName: TABLE, Key: { [DYNAMODB_PARTITION_KEY]: { S: key } } }));
    expect(await rawItem(key)).toBeUndefined();
    const again = await a.acquire({ key, token: "after", ttlMs: 5_000 });
    if (!again.ok) throw new Error("expected a grant");
    expect(again.fence).toBeGreaterThan(last);
  });

  test("the time base outruns a deleted item that was granted once per millisecond for a day", async () => {
    const a = adapter();
    const key = `outrun-${newToken()}`;
    const dayMs = 86_400_000;
    // Created a day ago and granted at DynamoDB's per-item write ceiling ever since.
    const worst = (Date.now() - dayMs) * FENCE_BASE_PER_MS + dayMs;
    await rawClient().send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { [DYNAMODB_PARTITION_KEY]: { S: key }, fence: { N: String(worst) } },
      }),
    );
    const before = await a.acquire({ key, token: "x", ttlMs: 5_000 });
    if (!before.ok) throw new Error("expected a grant");
    expect(before.fence).toBe(worst + 1);
    await a.release({ key, token: "x" });
    await rawClient().send(new DeleteItemCommand({ TableName: TABLE, Key: { [DYNAMODB_PARTITION_KEY]: { S: key } } }));
    const after = await a.acquire({ key, token: "y", ttlMs: 5_000 });
    if (!after.ok) throw new Error("expected a grant");
    expect(after.fence).toBeGreaterThan(before.fence);
    expect(Number.isSafeInteger(after.fence)).toBe(true);
  });

  test("a retried acquire with the holder's token keeps fence and expiry and reports only the time left", async () => {
    const a = adapter();
    const key = `retry-${newToken()}`;
    const token = newToken();
    const first = await a.acquire({ key, token, ttlMs: 3_000 });
    if (!first.ok) throw new Error("expected a grant");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await a.acquire({ key, token, ttlMs: 3_000 });
    if (!again.ok) throw new Error("expected the holder to be recognised");
    expect(again.fence).toBe(first.fence);
    expect(again.expiresAt).toBe(first.expiresAt);
    expect(again.ttlMs).toBeLessThanOrEqual(first.ttlMs - 100);
    expect(again.ttlMs).toBeGreaterThan(0);
    await a.release({ key, token });
  });
});
