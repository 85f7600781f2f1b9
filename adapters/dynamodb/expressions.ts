import type { AttributeValue, GetItemCommandInput, UpdateItemCommandInput } from "@aws-sdk/client-dynamodb";
import { DYNAMODB_CLEANUP_DELAY_S, DYNAMODB_PARTITION_KEY, DYNAMODB_TTL_ATTRIBUTE } from "./table.js";

/**
 * The lock item, one per key:
 *
 * | attribute   | type | meaning                                                     |
 * |-------------|------|-------------------------------------------------------------|
 * | `pk`        | S    | namespaced lock key                                         |
 * | `token`     | S    | holder's owner token; absent when free                      |
 * | `expiresAt` | N    | epoch ms on the holder's clock; absent when free            |
 * | `fence`     | N    | last fence granted; kept across releases                    |
 * | `owner`     | S    | optional holder description                                 |
 * | `acquiredAt`| N    | epoch ms of the latest grant, on the granting client's clock |
 * | `releasedAt`| N    | epoch ms of the latest release, on the releasing client's   |
 * | `heldMs`    | N    | how long the latest released holder kept the lock, ms       |
 * | `cleanupAt` | N    | epoch s, DynamoDB TTL: a day after the lock's expiry        |
 * | `valueHeld` | N    | far-future epoch s while a guarded value is stored          |
 *
 * plus the guarded value's attributes (see `value-expressions.ts`). While
 * `valueHeld` exists, every write copies it into `cleanupAt`, so DynamoDB TTL
 * never removes an item that carries a value.
 *
 * Every expression names attributes through placeholders, because `token`,
 * `owner` and others are DynamoDB reserved words.
 */
const NAMES = {
  "#token": "token",
  "#expiresAt": "expiresAt",
  "#fence": "fence",
  "#owner": "owner",
  "#cleanupAt": DYNAMODB_TTL_ATTRIBUTE,
  "#valueHeld": "valueHeld",
  "#acquiredAt": "acquiredAt",
  "#releasedAt": "releasedAt",
  "#heldMs": "heldMs",
} as const;

/**
 * `cleanupAt` of a lock write: the lock's own clean-up time, unless the item
 * holds a guarded value (then never).
 */
const CLEANUP = "#cleanupAt = if_not_exists(#valueHeld, :cleanupAt)";

type Placeholder = keyof typeof NAMES;

/** Only the placeholders an expression uses: DynamoDB refuses unused ones. */
function names(...used: Placeholder[]): Record<string, string> {
  return Object.fromEntries(used.map((placeholder) => [placeholder, NAMES[placeholder]]));
}

/**
 * Fence of the first grant on an item that does not exist (never created, or
 * deleted by TTL cleanup): `now × 1000`. A deleted item's fence started from
 * its own creation time × 1000 and rose by at most one per grant; DynamoDB
 * serves at most ~1 000 writes a second to one item, so it could not outrun
 * the clock × 1000, and TTL deletes it at least a day after its last write,
 * so the new base exceeds it unless clocks disagree by about 12 hours.
 * `now × 1000` stays a safe integer until the year 2255.
 */
export const FENCE_BASE_PER_MS = 1_000;

export const S = (value: string): AttributeValue => ({ S: value });
export const N = (value: number): AttributeValue => ({ N: String(value) });

export function cleanupAt(expiresAt: number): AttributeValue {
  return N(Math.ceil(expiresAt / 1_000) + DYNAMODB_CLEANUP_DELAY_S);
}

export function key(table: string, lockKey: string) {
  return { TableName: table, Key: { [DYNAMODB_PARTITION_KEY]: S(lockKey) } };
}

/** The key is free: never held, released, or past its expiry plus the skew margin on our clock. */
const FREE = "(attribute_not_exists(#token) OR #expiresAt < :staleBefore)";

/**
 * Acquire: take the key if it is free, set holder and expiry, and bump the
 * fence, in one conditional write. A failed condition returns the old item,
 * which tells "held by another" from "already ours" without a second read.
 */
export function acquireInput(
  table: string,
  request: { key: string; token: string; owner?: string | undefined },
  expiresAt: number,
  staleBefore: number,
  now: number,
): UpdateItemCommandInput {
  // When it was granted: a refused waiter's answer carries it, for the wait schedule.
  const set = `#token = :token, #expiresAt = :expiresAt, #acquiredAt = :now, ${CLEANUP}`;
  const fence = "#fence = if_not_exists(#fence, :base) + :one";
  const values: Record<string, AttributeValue> = {
    ":token": S(request.token),
    ":expiresAt": N(expiresAt),
    ":cleanupAt": cleanupAt(expiresAt),
    ":staleBefore": N(staleBefore),
    ":base": N(now * FENCE_BASE_PER_MS),
    ":one": N(1),
    ":now": N(now),
  };
  // A previous holder's description must not outlive its lock.
  let update = `SET ${set}, ${fence} REMOVE #owner`;
  if (request.owner !== undefined) {
    values[":owner"] = S(request.owner);
    update = `SET ${set}, ${fence}, #owner = :owner`;
  }
  return {
    ...key(table, request.key),
    ConditionExpression: FREE,
    UpdateExpression: update,
    ExpressionAttributeNames: names(
      "#token",
      "#expiresAt",
      "#fence",
      "#owner",
      "#cleanupAt",
      "#valueHeld",
      "#acquiredAt",
    ),
    ExpressionAttributeValues: values,
    ReturnValues: "ALL_NEW",
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  };
}

/**
 * Extend: only the holder, and only before its expiry on our clock (an
 * expired lease is not revived even if nobody took the key since).
 */
export function extendInput(
  table: string,
  request: { key: string; token: string },
  expiresAt: number,
  now: number,
): UpdateItemCommandInput {
  return {
    ...key(table, request.key),
    ConditionExpression: "#token = :token AND #expiresAt > :now",
    UpdateExpression: `SET #expiresAt = :expiresAt, ${CLEANUP}`,
    ExpressionAttributeNames: names("#token", "#expiresAt", "#cleanupAt", "#valueHeld"),
    ExpressionAttributeValues: {
      ":token": S(request.token),
      ":now": N(now),
      ":expiresAt": N(expiresAt),
      ":cleanupAt": cleanupAt(expiresAt),
    },
    ReturnValues: "ALL_NEW",
  };
}

/**
 * Release: the holder frees the key while contenders still see it held
 * (until expiry plus margin), so an overrunning holder frees it at once
 * instead of making others wait out the margin. The fence stays, so the next
 * grant continues from it.
 */
export function releaseInput(
  table: string,
  request: { key: string; token: string },
  staleBefore: number,
  now: number,
): UpdateItemCommandInput {
  return {
    ...key(table, request.key),
    ConditionExpression: "#token = :token AND #expiresAt >= :staleBefore",
    // The hold it ends and when, for the next waiters' schedule (a grant
    // written before `acquiredAt` existed records a hold of 0: unknown).
    UpdateExpression:
      `SET ${CLEANUP}, #releasedAt = :now, #heldMs = :now - if_not_exists(#acquiredAt, :now) ` +
      "REMOVE #token, #expiresAt, #owner",
    ExpressionAttributeNames: names(
      "#token",
      "#expiresAt",
      "#owner",
      "#cleanupAt",
      "#valueHeld",
      "#acquiredAt",
      "#releasedAt",
      "#heldMs",
    ),
    ExpressionAttributeValues: {
      ":token": S(request.token),
      ":staleBefore": N(staleBefore),
      ":cleanupAt": cleanupAt(now),
      ":now": N(now),
    },
    ReturnValues: "NONE",
  };
}

/**
 * Force release: free the key held under `fence`, whoever holds it, while
 * contenders still see it held (until expiry plus margin). The fence stays.
 */
export function forceReleaseInput(
  table: string,
  request: { key: string; fence: number },
  staleBefore: number,
  now: number,
): UpdateItemCommandInput {
  return {
    ...key(table, request.key),
    ConditionExpression: "attribute_exists(#token) AND #fence = :fence AND #expiresAt >= :staleBefore",
    UpdateExpression: "SET #cleanupAt = :cleanupAt REMOVE #token, #expiresAt, #owner",
    ExpressionAttributeNames: names("#token", "#expiresAt", "#fence", "#owner", "#cleanupAt"),
    ExpressionAttributeValues: {
      ":fence": N(request.fence),
      ":staleBefore": N(staleBefore),
      ":cleanupAt": cleanupAt(now),
    },
    ReturnValues: "NONE",
  };
}

/** Inspect: a strongly consistent read, so a write that succeeded is always seen. */
export function inspectInput(table: string, lockKey: string): GetItemCommandInput {
  return {
    ...key(table, lockKey),
    ConsistentRead: true,
    ProjectionExpression: "#token, #expiresAt, #fence, #owner",
    ExpressionAttributeNames: names("#token", "#expiresAt", "#fence", "#owner"),
  };
}
