import {
  DeleteItemCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createLockTable,
  DYNAMODB_PARTITION_KEY,
  DYNAMODB_TTL_ATTRIBUTE,
  dynamodbAdapter,
  FENCE_BASE_PER_MS,
} from "../../adapters/dynamodb/index.js";
import { translateError } from "../../adapters/dynamodb/sdk-errors.js";
import {
  BackendError,
  BackendRejectedError,
  createLocker,
  InvalidArgumentError,
  type LockAdapter,
  newToken,
} from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";
import {
  DYNAMODB_LOCAL_CREDENTIALS,
  DYNAMODB_LOCAL_REGION,
  type DynamoDBLocal,
  startDynamoDBLocal,
} from "../support/dynamodb-local.js";

const TABLE = "edgelock-test";
// Small enough to keep the suite fast (TTLs of 3 × margin and up); production default is 1 000 ms.
const MARGIN_MS = 100;
let ddb: DynamoDBLocal;

/** A plain client for setup and for looking at items behind the adapter's back. */
function rawClient(): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: ddb.endpoint,
    region: DYNAMODB_LOCAL_REGION,
    credentials: DYNAMODB_LOCAL_CREDENTIALS,
    maxAttempts: 1,
    requestHandler: new FetchHttpHandler(),
  });
}

function adapter(options: { fetch?: typeof fetch; now?: () => number; table?: string } = {}): LockAdapter {
  return dynamodbAdapter({
    table: TABLE,
    endpoint: ddb.endpoint,
    region: DYNAMODB_LOCAL_REGION,
    credentials: DYNAMODB_LOCAL_CREDENTIALS,
    clockSkewMarginMs: MARGIN_MS,
    ...options,
  });
}

async function rawItem(key: string) {
  const out = await rawClient().send(
    new GetItemCommand({ TableName: TABLE, Key: { [DYNAMODB_PARTITION_KEY]: { S: key } }, ConsistentRead: true }),
  );
  return out.Item;
}

beforeAll(async () => {
  ddb = await startDynamoDBLocal();
  await createLockTable(rawClient(), { table: TABLE });
}, 120_000);

afterAll(async () => {
  await ddb?.stop();
});

describeConformance({ name: "dynamodb", create: ({ fetch }) => adapter({ fetch }) });

describe("dynamodb adapter", () => {
  test("every SDK request goes through the injected fetch, one per operation, signed", async () => {
    const original = globalThis.fetch;
    const seen: { url: string; target: string | null; signed: boolean }[] = [];
    let globalCalls = 0;
    const injected: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      seen.push({
        url: request.url,
        target: request.headers.get("x-amz-target"),
        signed: (request.headers.get("authorization") ?? "").startsWith("AWS4-HMAC-SHA256"),
      });
      return original(request);
    };
    globalThis.fetch = async (...args) => {
      globalCalls++;
      return original(...args);
    };
    try {
      const a = adapter({ fetch: injected });
      const key = `traffic-${newToken()}`;
      const token = newToken();
      const grant = await a.acquire({ key, token, ttlMs: 5_000 });
      expect(grant.ok).toBe(true);
      expect(await a.acquire({ key, token, ttlMs: 5_000 })).toMatchObject({ ok: true }); // own retry
      expect(await a.acquire({ key, token: newToken(), ttlMs: 5_000 })).toMatchObject({ ok: false });
      expect(await a.extend({ key, token, ttlMs: 5_000 })).toMatchObject({ ok: true });
      expect(await a.inspect(key)).toMatchObject({ held: true });
      expect(await a.release({ key, token })).toEqual({ ok: true });
      expect(await a.release({ key, token })).toEqual({ ok: false, reason: "not_held" });
      await a.dispose?.();
    } finally {
      globalThis.fetch = original;
    }
    expect(globalCalls).toBe(0);
    expect(seen.map((s) => s.target)).toEqual([
      ...Array(4).fill("DynamoDB_20120810.UpdateItem"),
      "DynamoDB_20120810.GetItem",
      ...Array(2).fill("DynamoDB_20120810.UpdateItem"),
    ]);
    expect(seen.every((s) => s.signed && s.url.startsWith(ddb.endpoint))).toBe(true);
  });

  test("the adapter's own client makes one attempt and leaves retries to the lock client", async () => {
    let calls = 0;
    const failing: typeof fetch = async () => {
      calls++;
      // What a fetch whose own timeout fired throws; the SDK counts it as transient.
      throw new DOMException("injected: the request timed out", "TimeoutError");
    };
    const a = adapter({ fetch: failing });
    const error = await a.acquire({ key: `once-${newToken()}`, token: "t", ttlMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).maybeApplied).toBe(true);
    expect(calls).toBe(1);
  });

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

  test("the skew margin: held for others until expiry + margin, inspect agrees with acquire", async () => {
    const holder = adapter();
    const key = `margin-${newToken()}`;
    const grant = await holder.acquire({ key, token: "h", ttlMs: 1_000 });
    if (!grant.ok) throw new Error("expected a grant");
    // Contenders whose clocks already read a moment after the stated expiry.
    const inMargin = adapter({ now: () => grant.expiresAt + MARGIN_MS / 2 });
    expect(await inMargin.inspect(key)).toMatchObject({ held: true, fence: grant.fence });
    const refusal = await inMargin.acquire({ key, token: "c1", ttlMs: 1_000 });
    expect(refusal).toMatchObject({ ok: false, reason: "held" });
    if (!refusal.ok) expect(refusal.retryAfterMs).toBeLessThanOrEqual(MARGIN_MS / 2);
    // The holder itself can no longer extend once its own clock passes expiry...
    expect(await inMargin.extend({ key, token: "h", ttlMs: 1_000 })).toEqual({ ok: false, reason: "not_held" });
    // ...but can still release, freeing the key before the margin runs out.
    const pastMargin = adapter({ now: () => grant.expiresAt + MARGIN_MS + 1 });
    expect(await pastMargin.inspect(key)).toEqual({ held: false });
    const taken = await pastMargin.acquire({ key, token: "c2", ttlMs: 1_000 });
    if (!taken.ok) throw new Error("expected the key free after expiry + margin");
    expect(taken.fence).toBeGreaterThan(grant.fence);
    expect(await holder.release({ key, token: "h" })).toEqual({ ok: false, reason: "not_held" });
  });

  test("an overrunning holder's release frees the key at once instead of after the margin", async () => {
    const a = adapter();
    const key = `overrun-${newToken()}`;
    const grant = await a.acquire({ key, token: "h", ttlMs: 1_000 });
    if (!grant.ok) throw new Error("expected a grant");
    const late = adapter({ now: () => grant.expiresAt + MARGIN_MS / 2 });
    expect(await late.release({ key, token: "h" })).toEqual({ ok: true });
    expect(await late.inspect(key)).toEqual({ held: false });
  });

  test("at the holder's local deadline, a contender whose clock runs ahead is still refused", async () => {
    // The lock client ends the lease a margin before expiry and contenders
    // wait a margin after it: together they absorb a lead of up to twice the
    // margin. A lead just under that is refused only if both sides apply it.
    const key = `skew-${newToken()}`;
    const holder = createLocker({ adapter: adapter() });
    const lease = await holder.tryAcquire(key, { ttlMs: 1_000 });
    if (!lease) throw new Error("expected a lease");
    const ahead = createLocker({ adapter: adapter({ now: () => lease.expiresAt + 2 * MARGIN_MS - 50 }) });
    expect(await ahead.inspect(key)).toMatchObject({ held: true, fence: lease.fence });
    expect(await ahead.tryAcquire(key, { ttlMs: 1_000 })).toBeNull();
    await lease.release();
    expect(await ahead.tryAcquire(key, { ttlMs: 1_000 })).not.toBeNull();
  });

  test("a user's client is used as given", async () => {
    let calls = 0;
    const client = new DynamoDBClient({
      endpoint: ddb.endpoint,
      region: DYNAMODB_LOCAL_REGION,
      credentials: DYNAMODB_LOCAL_CREDENTIALS,
      maxAttempts: 1,
      requestHandler: new FetchHttpHandler({
        customFetch: (input, init) => {
          calls++;
          return fetch(input, init);
        },
      }),
    });
    const a = dynamodbAdapter({ client, table: TABLE, clockSkewMarginMs: MARGIN_MS });
    const key = `client-${newToken()}`;
    expect(await a.acquire({ key, token: "t", ttlMs: 2_000 })).toMatchObject({ ok: true });
    expect(await a.release({ key, token: "t" })).toEqual({ ok: true });
    await a.dispose?.();
    expect(calls).toBe(2);
    // Not ours to destroy: still usable.
    expect(await a.inspect(key)).toEqual({ held: false });
  });

  test("a missing table is a BackendRejectedError, with the SDK error as cause", async () => {
    const a = adapter({ table: "no-such-table" });
    const error = await a.acquire({ key: "k", token: "t", ttlMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect((error as BackendRejectedError).status).toBe(400);
    expect((error as Error).cause).toMatchObject({ name: "ResourceNotFoundException" });
  });

  test("an unreachable endpoint is a BackendError that may have been applied", async () => {
    const a = dynamodbAdapter({
      table: TABLE,
      endpoint: "http://127.0.0.1:9", // discard port: nothing listens
      region: DYNAMODB_LOCAL_REGION,
      credentials: DYNAMODB_LOCAL_CREDENTIALS,
    });
    const error = await a.acquire({ key: "k", token: "t", ttlMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).maybeApplied).toBe(true);
    expect((error as Error).cause).toBeDefined();
  });

  test("SDK errors map to typed errors: throttling not applied, 5xx maybe applied, 4xx rejected", () => {
    const $metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", ...$metadata(400) });
    const server = new InternalServerError({ message: "oops", ...$metadata(500) });
    const missing = new ResourceNotFoundException({ message: "no table", ...$metadata(400) });
    expect(translateError(throttled, "x")).toMatchObject({ maybeApplied: false, retryable: true, cause: throttled });
    expect(translateError(server, "x")).toMatchObject({ maybeApplied: true, retryable: true, status: 500 });
    expect(translateError(missing, "x")).toBeInstanceOf(BackendRejectedError);
    expect(translateError(new TypeError("fetch failed"), "x")).toMatchObject({ maybeApplied: true });
  });

  test("bad options are refused with InvalidArgumentError", () => {
    const client = rawClient();
    expect(() => dynamodbAdapter({ client, fetch })).toThrow(InvalidArgumentError);
    expect(() => dynamodbAdapter({ client, table: "x" })).toThrow(InvalidArgumentError);
    expect(() => dynamodbAdapter({ client, clockSkewMarginMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => dynamodbAdapter({ client, clockSkewMarginMs: 1.5 })).toThrow(InvalidArgumentError);
    expect(dynamodbAdapter({ client }).capabilities).toMatchObject({
      clock: "client",
      clockSkewMarginMs: 1_000,
      ttl: { minMs: 3_000 },
    });
  });

  test("latency: warm uncontended acquire, extend, inspect, release (printed)", async () => {
    const a = adapter();
    const key = `latency-${newToken()}`;
    const samples = {
      acquire: [] as number[],
      extend: [] as number[],
      inspect: [] as number[],
      release: [] as number[],
    };
    const timed = async <T>(into: number[], operation: () => Promise<T>): Promise<T> => {
      const start = performance.now();
      const result = await operation();
      into.push(performance.now() - start);
      return result;
    };
    for (let i = 0; i < 110; i++) {
      const token = newToken();
      const warm = i < 10; // first requests pay for connection setup and SDK warm-up
      const grant = await timed(warm ? [] : samples.acquire, () => a.acquire({ key, token, ttlMs: 10_000 }));
      expect(grant.ok).toBe(true);
      expect(await timed(warm ? [] : samples.extend, () => a.extend({ key, token, ttlMs: 10_000 }))).toMatchObject({
        ok: true,
      });
      expect(await timed(warm ? [] : samples.inspect, () => a.inspect(key))).toMatchObject({ held: true });
      expect(await timed(warm ? [] : samples.release, () => a.release({ key, token }))).toEqual({ ok: true });
    }
    const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    const rows = Object.entries(samples).map(([op, values]) => {
      const sorted = [...values].sort((x, y) => x - y);
      return `${op.padEnd(8)} p50 ${at(sorted, 0.5).toFixed(1)} ms  p95 ${at(sorted, 0.95).toFixed(1)} ms  (n=${sorted.length})`;
    });
    console.log(`DynamoDB Local, one request per operation:\n${rows.join("\n")}`);
    for (const values of Object.values(samples)) expect(values).toHaveLength(100);
  });

  test("createLockTable is idempotent and enables TTL on the cleanup attribute", async () => {
    await createLockTable(rawClient(), { table: TABLE });
    const ttl = await rawClient().send(new DescribeTimeToLiveCommand({ TableName: TABLE }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      TimeToLiveStatus: "ENABLED",
      AttributeName: DYNAMODB_TTL_ATTRIBUTE,
    });
  });
});
