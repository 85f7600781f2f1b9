import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { BackendRejectedError } from "../../src/errors.js";
import { translateError } from "./sdk-errors.js";

/** Table name used when `dynamodbAdapter` is given none. */
export const DYNAMODB_DEFAULT_TABLE = "edgelock-locks";

/** Partition key attribute (type `S`): the namespaced lock key. The table has no sort key. */
export const DYNAMODB_PARTITION_KEY = "pk";

/**
 * Attribute DynamoDB TTL must be enabled on (type `N`, epoch seconds). It is
 * set a day after the lock's own expiry, so only idle items are ever removed;
 * lock expiry itself never depends on it.
 */
export const DYNAMODB_TTL_ATTRIBUTE = "cleanupAt";

/** How long after a lock's expiry its idle item may be deleted by DynamoDB TTL, seconds. */
export const DYNAMODB_CLEANUP_DELAY_S = 86_400;

/** Options of {@link createLockTable}. */
export interface CreateLockTableOptions {
  /** Table name. Default {@link DYNAMODB_DEFAULT_TABLE}. */
  readonly table?: string;
  /** Longest wait for the table to become `ACTIVE`, ms. Default 120 000. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Create the lock table if it does not exist (on-demand billing, partition
 * key {@link DYNAMODB_PARTITION_KEY}), wait until it is `ACTIVE`, and enable
 * DynamoDB TTL on {@link DYNAMODB_TTL_ATTRIBUTE}. Safe to call again on an
 * existing table. Meant for setup scripts and tests; in production prefer
 * your IaC with the exported constants.
 *
 * @example
 * ```ts
 * import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
 * import { createLockTable } from "edgelock/dynamodb";
 * await createLockTable(new DynamoDBClient({ region: "eu-west-1" }), { table: "locks" });
 * ```
 */
export async function createLockTable(
  client: Pick<DynamoDBClient, "send">,
  options: CreateLockTableOptions = {},
): Promise<void> {
  const table = options.table ?? DYNAMODB_DEFAULT_TABLE;
  const signal = options.signal;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: DYNAMODB_PARTITION_KEY, AttributeType: "S" }],
        KeySchema: [{ AttributeName: DYNAMODB_PARTITION_KEY, KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    // An existing table is what we want; its TTL setting is checked below.
    if ((error as { name?: unknown }).name !== "ResourceInUseException") throw translateError(error, "CreateTable");
  }
  try {
    for (;;) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: table }), { abortSignal: signal });
      if (Table?.TableStatus === "ACTIVE") break;
      if (Date.now() > deadline) throw new Error(`table ${table} is still ${Table?.TableStatus} after waiting`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table }), { abortSignal: signal });
    const { TimeToLiveStatus: status, AttributeName: attribute } = ttl.TimeToLiveDescription ?? {};
    if (status === "ENABLED" || status === "ENABLING") {
      if (attribute === DYNAMODB_TTL_ATTRIBUTE) return;
      throw new BackendRejectedError(
        `table ${table} has TTL on "${attribute}", not "${DYNAMODB_TTL_ATTRIBUTE}": idle lock items would never be cleaned up`,
      );
    }
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: DYNAMODB_TTL_ATTRIBUTE, Enabled: true },
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    throw translateError(error, `preparing table ${table}`);
  }
}
