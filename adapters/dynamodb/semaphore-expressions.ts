import type { AttributeValue, GetItemCommandInput, UpdateItemCommandInput } from "@aws-sdk/client-dynamodb";
import { MAX_DURATION_MS } from "../../src/validate.js";
import { FENCE_BASE_PER_MS } from "./expressions.js";
import { DYNAMODB_CLEANUP_DELAY_S, DYNAMODB_PARTITION_KEY, DYNAMODB_TTL_ATTRIBUTE } from "./table.js";

/**
 * The semaphore item, one per semaphore key, in the lock table:
 *
 * | attribute   | type | meaning                                                        |
 * |-------------|------|----------------------------------------------------------------|
 * | `pk`        | S    | `\u0001semaphore\u0001` + namespaced key (apart from lock items) |
 * | `permits`   | M    | token → `{ f: fence, e: expiresAt (client epoch ms), o?: owner }` |
 * | `limit`     | N    | limit of the live permits                                      |
 * | `fence`     | N    | last fence granted; kept while the item lives                  |
 * | `version`   | N    | bumped by every write: acquire rewrites `permits` whole on it  |
 * | `cleanupAt` | N    | epoch s, DynamoDB TTL: a day after the latest expiry           |
 *
 * Acquire drops expired permits and adds its own in one conditional write on
 * the `version` it last saw; extend and release touch only their own entry,
 * and bump `version` so that no acquire based on older state overwrites them.
 */
const NAMES = {
  "#permits": "permits",
  "#limit": "limit",
  "#fence": "fence",
  "#version": "version",
  "#cleanupAt": DYNAMODB_TTL_ATTRIBUTE,
} as const;

/** Key prefix of semaphore items: a control character no validated key contains. */
export const SEMAPHORE_PK_PREFIX = "\u0001semaphore\u0001";

export interface PermitEntry {
  readonly fence: number;
  readonly expiresAt: number;
  readonly owner?: string | undefined;
}

/** The item as the adapter last read or wrote it; `version` 0 for an item that does not exist. */
export interface SemaphoreItem {
  readonly version: number;
  readonly fence: number;
  readonly limit: number;
  readonly permits: ReadonlyMap<string, PermitEntry>;
}

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

function key(table: string, semaphoreKey: string) {
  return { TableName: table, Key: { [DYNAMODB_PARTITION_KEY]: S(SEMAPHORE_PK_PREFIX + semaphoreKey) } };
}

function permitValue(permit: PermitEntry): AttributeValue {
  const m: Record<string, AttributeValue> = { f: N(permit.fence), e: N(permit.expiresAt) };
  if (permit.owner !== undefined) m.o = S(permit.owner);
  return { M: m };
}

function cleanupAt(expiresAt: number): AttributeValue {
  return N(Math.ceil(expiresAt / 1_000) + DYNAMODB_CLEANUP_DELAY_S);
}

/** First fence of an item that does not exist: as for locks, `now × 1000`, so it exceeds a TTL-deleted item's. */
export function baseFence(now: number): number {
  return now * FENCE_BASE_PER_MS;
}

/** Acquire: write `next` whole, if the item is still at `seen.version` (absent when 0). */
export function semaphoreWriteInput(
  table: string,
  semaphoreKey: string,
  seen: SemaphoreItem,
  next: { fence: number; limit: number; permits: ReadonlyMap<string, PermitEntry> },
): UpdateItemCommandInput {
  const latest = Math.max(...Array.from(next.permits.values(), (permit) => permit.expiresAt));
  return {
    ...key(table, semaphoreKey),
    ConditionExpression: seen.version === 0 ? "attribute_not_exists(#version)" : "#version = :seen",
    UpdateExpression:
      "SET #permits = :permits, #limit = :limit, #fence = :fence, #version = :next, #cleanupAt = :cleanupAt",
    ExpressionAttributeNames: {
      "#permits": NAMES["#permits"],
      "#limit": NAMES["#limit"],
      "#fence": NAMES["#fence"],
      "#version": NAMES["#version"],
      "#cleanupAt": NAMES["#cleanupAt"],
    },
    ExpressionAttributeValues: {
      ":permits": {
        M: Object.fromEntries(Array.from(next.permits, ([token, permit]) => [token, permitValue(permit)])),
      },
      ":limit": N(next.limit),
      ":fence": N(next.fence),
      ":next": N(seen.version + 1),
      ":cleanupAt": cleanupAt(latest),
      ...(seen.version === 0 ? {} : { ":seen": N(seen.version) }),
    },
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  };
}

/** Extend: only the token's own live permit (before its expiry on our clock). */
export function semaphoreExtendInput(
  table: string,
  request: { key: string; token: string },
  expiresAt: number,
  now: number,
): UpdateItemCommandInput {
  return {
    ...key(table, request.key),
    ConditionExpression: "#permits.#token.e > :now",
    UpdateExpression: "SET #permits.#token.e = :expiresAt, #version = #version + :one, #cleanupAt = :cleanupAt",
    ExpressionAttributeNames: {
      "#permits": NAMES["#permits"],
      "#token": request.token,
      "#version": NAMES["#version"],
      "#cleanupAt": NAMES["#cleanupAt"],
    },
    ExpressionAttributeValues: {
      ":now": N(now),
      ":expiresAt": N(expiresAt),
      ":one": N(1),
      // DynamoDB has no max(): set it past any other permit's possible
      // expiry (the longest TTL), so the item outlives all of them.
      ":cleanupAt": cleanupAt(now + MAX_DURATION_MS),
    },
    ReturnValues: "ALL_NEW",
  };
}

/** Release: the token's own permit while contenders still count it (until expiry plus margin). */
export function semaphoreReleaseInput(
  table: string,
  request: { key: string; token: string },
  staleBefore: number,
): UpdateItemCommandInput {
  return {
    ...key(table, request.key),
    ConditionExpression: "#permits.#token.e >= :staleBefore",
    UpdateExpression: "REMOVE #permits.#token SET #version = #version + :one",
    ExpressionAttributeNames: { "#permits": NAMES["#permits"], "#token": request.token, "#version": NAMES["#version"] },
    ExpressionAttributeValues: { ":staleBefore": N(staleBefore), ":one": N(1) },
    // The new item keeps this adapter's copy current, so its next acquire is one write.
    ReturnValues: "ALL_NEW",
  };
}

/** Inspect: a strongly consistent read of the whole item. */
export function semaphoreReadInput(table: string, semaphoreKey: string): GetItemCommandInput {
  return { ...key(table, semaphoreKey), ConsistentRead: true };
}

/** The state of an item that does not exist. */
export const NO_SEMAPHORE_ITEM: SemaphoreItem = { version: 0, fence: 0, limit: 0, permits: new Map() };

/** Read an item as written above; `undefined` when it is not in that shape (then it was not written by edgelock). */
export function readSemaphoreItem(item: Record<string, AttributeValue> | undefined): SemaphoreItem | undefined {
  if (item === undefined) return NO_SEMAPHORE_ITEM;
  const num = (value: AttributeValue | undefined) => {
    const n = value?.N === undefined ? Number.NaN : Number(value.N);
    return Number.isSafeInteger(n) ? n : undefined;
  };
  const version = num(item.version);
  const fence = num(item.fence);
  const limit = num(item.limit);
  const map = item.permits?.M;
  if (version === undefined || fence === undefined || limit === undefined || map === undefined) return undefined;
  const permits = new Map<string, PermitEntry>();
  for (const [token, value] of Object.entries(map)) {
    const f = num(value.M?.f);
    const e = num(value.M?.e);
    if (f === undefined || e === undefined) return undefined;
    const owner = value.M?.o?.S;
    permits.set(token, owner === undefined ? { fence: f, expiresAt: e } : { fence: f, expiresAt: e, owner });
  }
  return { version, fence, limit, permits };
}
