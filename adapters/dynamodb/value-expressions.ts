import type { AttributeValue, GetItemCommandInput, UpdateItemCommandInput } from "@aws-sdk/client-dynamodb";
import { MAX_DURATION_MS } from "../../src/validate.js";
import { cleanupAt, FENCE_BASE_PER_MS, key, N, S } from "./expressions.js";

/**
 * The guarded value, as attributes of the lock item (see `expressions.ts`):
 *
 * | attribute    | type | meaning                                                  |
 * |--------------|------|----------------------------------------------------------|
 * | `value`      | S    | JSON text; absent when never written or deleted          |
 * | `version`    | N    | version of the last write or deletion                    |
 * | `valueFence` | N    | fence of the holder that made it                         |
 * | `writeId`    | S    | id of the last write (a retry of it is answered, not applied) |
 * | `valueHeld`  | N    | far future while `value` exists: keeps DynamoDB TTL off  |
 *
 * The write is one `UpdateItem` whose condition is the holder's token and an
 * expiry that is still a skew margin away on the writer's clock, so it can
 * never land after another holder took over.
 */
const NAMES = {
  "#token": "token",
  "#expiresAt": "expiresAt",
  "#fence": "fence",
  "#cleanupAt": "cleanupAt",
  "#value": "value",
  "#version": "version",
  "#valueFence": "valueFence",
  "#writeId": "writeId",
  "#valueHeld": "valueHeld",
} as const;

/** `valueHeld`: 9999-12-31, epoch seconds. DynamoDB TTL never reaches it. */
const NEVER_S = 253_402_300_799;

/**
 * Write (or, with `json: null`, delete) the value as the holder. A version
 * that does not exist yet starts from `now × 1000` like fences do, so it
 * stays above any version of an item DynamoDB TTL deleted (only items
 * without a value are ever deleted), and then rises by one per write.
 */
export function writeValueInput(
  table: string,
  request: { key: string; token: string; json: string | null; writeId: string; expectedVersion?: number | undefined },
  validAfter: number,
  now: number,
): UpdateItemCommandInput {
  const values: Record<string, AttributeValue> = {
    ":token": S(request.token),
    ":validAfter": N(validAfter),
    ":writeId": S(request.writeId),
    ":base": N(now * FENCE_BASE_PER_MS),
    ":one": N(1),
  };
  let condition =
    "#token = :token AND #expiresAt > :validAfter AND (attribute_not_exists(#writeId) OR #writeId <> :writeId)";
  if (request.expectedVersion !== undefined) {
    if (request.expectedVersion === 0) condition += " AND attribute_not_exists(#version)";
    else {
      condition += " AND #version = :expected";
      values[":expected"] = N(request.expectedVersion);
    }
  }
  const common = "#version = if_not_exists(#version, :base) + :one, #valueFence = #fence, #writeId = :writeId";
  let update: string;
  if (request.json === null) {
    // Without a value the item may be cleaned up again, once any lock on it
    // (at most the longest TTL) is long over.
    values[":cleanupAt"] = cleanupAt(now + MAX_DURATION_MS);
    update = `SET ${common}, #cleanupAt = :cleanupAt REMOVE #value, #valueHeld`;
  } else {
    values[":value"] = S(request.json);
    values[":never"] = N(NEVER_S);
    update = `SET ${common}, #value = :value, #valueHeld = :never, #cleanupAt = :never`;
  }
  return {
    ...key(table, request.key),
    ConditionExpression: condition,
    UpdateExpression: update,
    ExpressionAttributeNames: { ...NAMES },
    ExpressionAttributeValues: values,
    ReturnValues: "UPDATED_NEW",
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  };
}

/** Read the value: one strongly consistent `GetItem` of its attributes. */
export function readValueInput(table: string, lockKey: string): GetItemCommandInput {
  return {
    ...key(table, lockKey),
    ConsistentRead: true,
    ProjectionExpression: "#value, #version, #valueFence",
    ExpressionAttributeNames: { "#value": "value", "#version": "version", "#valueFence": "valueFence" },
  };
}
