import { type AttributeValue, type DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll } from "vitest";
import { createLockTable, DYNAMODB_PARTITION_KEY, dynamodbAdapter } from "../../adapters/dynamodb/index.js";
import type { LockAdapter } from "../../src/index.js";
import {
  DYNAMODB_LOCAL_CREDENTIALS,
  DYNAMODB_LOCAL_REGION,
  type DynamoDBLocal,
  localClient,
  startDynamoDBLocal,
} from "../support/dynamodb-local.js";

/** The lock table the DynamoDB test files use. */
export const TABLE = "edgelock-test";
/** Small enough to keep the suite fast (TTLs of 3 × margin and up); production default is 1 000 ms. */
export const MARGIN_MS = 100;

/** What a DynamoDB test file gets from {@link useDynamoDBLocal}. */
export interface DynamoDBFixture {
  /** DynamoDB Local's endpoint; valid once the file's tests run. */
  endpoint(): string;
  /** A plain client for setup and for looking at items behind the adapter's back. */
  rawClient(): DynamoDBClient;
  /** The item stored for `key`, read strongly consistently, behind the adapter's back. */
  rawItem(key: string): Promise<Record<string, AttributeValue> | undefined>;
  /** The adapter on {@link TABLE} with {@link MARGIN_MS}, options overriding. */
  adapter(options?: { fetch?: typeof fetch; now?: () => number; table?: string }): LockAdapter;
}

/** Start DynamoDB Local with the lock table for this test file, and stop it after. */
export function useDynamoDBLocal(): DynamoDBFixture {
  let ddb: DynamoDBLocal | undefined;
  const endpoint = () => {
    if (!ddb) throw new Error("DynamoDB Local is not started yet");
    return ddb.endpoint;
  };
  const rawClient = () => localClient(endpoint());
  beforeAll(async () => {
    ddb = await startDynamoDBLocal();
    await createLockTable(rawClient(), { table: TABLE });
  }, 120_000);
  afterAll(async () => {
    await ddb?.stop();
  });
  return {
    endpoint,
    rawClient,
    rawItem: async (key) => {
      const out = await rawClient().send(
        new GetItemCommand({ TableName: TABLE, Key: { [DYNAMODB_PARTITION_KEY]: { S: key } }, ConsistentRead: true }),
      );
      return out.Item;
    },
    adapter: (options = {}) =>
      dynamodbAdapter({
        table: TABLE,
        endpoint: endpoint(),
        region: DYNAMODB_LOCAL_REGION,
        credentials: DYNAMODB_LOCAL_CREDENTIALS,
        clockSkewMarginMs: MARGIN_MS,
        ...options,
      }),
  };
}
