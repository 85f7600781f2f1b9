import {
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { describe, expect, test } from "vitest";
import { createLockTable, DYNAMODB_TTL_ATTRIBUTE, dynamodbAdapter } from "../../adapters/dynamodb/index.js";
import { translateError } from "../../adapters/dynamodb/sdk-errors.js";
import { BackendError, BackendRejectedError, InvalidArgumentError, newToken } from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";
import { DYNAMODB_LOCAL_CREDENTIALS, DYNAMODB_LOCAL_REGION } from "../support/dynamodb-local.js";
import { MARGIN_MS, TABLE, useDynamoDBLocal } from "./dynamodb-fixture.js";

const { endpoint, rawClient, rawItem, adapter } = useDynamoDBLocal();

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
    expect(seen.every((s) => s.signed && s.url.startsWith(endpoint()))).toBe(true);
  });

  test("the item records when a grant was made and how long the released holder kept it, for waiters' polling", async () => {
    const a = adapter();
    const key = `hold-${newToken()}`;
    const token = newToken();
    const before = Date.now();
    expect(await a.acquire({ key, token, ttlMs: 5_000 })).toMatchObject({ ok: true });
    const acquiredAt = Number((await rawItem(key))?.acquiredAt?.N);
    expect(acquiredAt).toBeGreaterThanOrEqual(before);
    expect(acquiredAt).toBeLessThanOrEqual(Date.now());
    // A refusal carries them back at no extra request (the old item), and the lock is untouched.
    expect(await a.acquire({ key, token: newToken(), ttlMs: 5_000 })).toMatchObject({ ok: false, reason: "held" });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await a.release({ key, token })).toEqual({ ok: true });
    const released = await rawItem(key);
    expect(Number(released?.heldMs?.N)).toBeGreaterThanOrEqual(60);
    expect(Number(released?.releasedAt?.N) - acquiredAt).toBe(Number(released?.heldMs?.N));
    expect(released?.token).toBeUndefined();
    // The next grant keeps the previous holder's figures, so its refusals carry them.
    expect(await a.acquire({ key, token: newToken(), ttlMs: 5_000 })).toMatchObject({ ok: true });
    expect((await rawItem(key))?.heldMs).toEqual(released?.heldMs);
    await a.dispose?.();
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

  test("a user's client is used as given", async () => {
    let calls = 0;
    const client = new DynamoDBClient({
      endpoint: endpoint(),
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

  test("createLockTable is idempotent and enables TTL on the cleanup attribute", async () => {
    await createLockTable(rawClient(), { table: TABLE });
    const ttl = await rawClient().send(new DescribeTimeToLiveCommand({ TableName: TABLE }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      TimeToLiveStatus: "ENABLED",
      AttributeName: DYNAMODB_TTL_ATTRIBUTE,
    });
  });
});
