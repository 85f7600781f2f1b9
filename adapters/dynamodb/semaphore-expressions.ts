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
 * | `permits`   | M    | token → `{ e: expiresAt (client epoch ms), o?: owner }`        |
 * | `fences`    | M    | token → the permit's fence                                     |
 * | `limit`     | N    | limit of the live permits                                      |
 * | `fence`     | N    | last fence granted; kept while the item lives                  |
 * | `version`   | N    | bumped by every write (diagnostics; no condition depends on it) |
 * | `cleanupAt` | N    | epoch s, DynamoDB TTL: past any permit's possible expiry + a day |
 *
 * An acquire adds only its own entry, on a condition that is the invariant
 * itself: the token is not there yet, and the map has room for it (at most
 * `limit` entries, live or not, so never more than `limit` live permits on
 * any clock). A write by another client that leaves room does not refuse it.
 * Expired entries are removed only when they are needed for room, each on
 * the condition that it is still expired, so the count stays exact. The
 * fence comes from `fence + 1` in the same write (the permit's fence lives in
 * `fences`, a sibling map, because one write cannot both create an entry and
 * compute one of its fields). Extend and release touch only their own entry.
 */
const NAMES = {
  "#permits": "permits",
  "#fences": "fences",
  "#limit": "limit",
  "#fence": "fence",
  "#version": "version",
  "#cleanupAt": DYNAMODB_TTL_ATTRIBUTE,
} as const;

/** Key prefix of semaphore items: a control character no validated key contains. */
export const SEMAPHORE_PK_PREFIX = "\u0001semaphore\u0001";

/** Expired entries one acquire removes at most (each adds a condition; expressions are limited to 4 KB). */
export const MAX_DROPS_PER_WRITE = 32;

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

function entryValue(expiresAt: number, owner: string | undefined): AttributeValue {
  const m: Record<string, AttributeValue> = { e: N(expiresAt) };
  if (owner !== undefined) m.o = S(owner);
  return { M: m };
}

function cleanupAt(expiresAt: number): AttributeValue {
  return N(Math.ceil(expiresAt / 1_000) + DYNAMODB_CLEANUP_DELAY_S);
}

/** First fence of an item that does not exist: as for locks, `now × 1000`, so it exceeds a TTL-deleted item's. */
export function baseFence(now: number): number {
  return now * FENCE_BASE_PER_MS;
}

/** What one acquire write does, computed from the item as last seen. */
export interface AcquirePlan {
  /** The permit to add; absent for a write that only removes expired entries to make room. */
  readonly add?: { readonly token: string; readonly expiresAt: number; readonly owner?: string | undefined };
  readonly limit: number;
  /** Entries to remove, each only if still expired (before `staleBefore`). */
  readonly drops: readonly string[];
  /** With `add`: the stored limit differs (no live permits), every entry is among `drops`, the write sets `limit`. */
  readonly changeLimit: boolean;
  readonly staleBefore: number;
  /** Client clock now, for `cleanupAt`. */
  readonly now: number;
}

/** Acquire on an item that does not exist yet: create it holding one permit. */
export function semaphoreCreateInput(
  table: string,
  semaphoreKey: string,
  add: NonNullable<AcquirePlan["add"]>,
  limit: number,
  now: number,
): UpdateItemCommandInput {
  const fence = baseFence(now) + 1;
  return {
    ...key(table, semaphoreKey),
    ConditionExpression: "attribute_not_exists(#permits)",
    UpdateExpression:
      "SET #permits = :permits, #fences = :fences, #limit = :limit, #fence = :fence, #version = :one, #cleanupAt = :cleanupAt",
    ExpressionAttributeNames: {
      "#permits": NAMES["#permits"],
      "#fences": NAMES["#fences"],
      "#limit": NAMES["#limit"],
      "#fence": NAMES["#fence"],
      "#version": NAMES["#version"],
      "#cleanupAt": NAMES["#cleanupAt"],
    },
    ExpressionAttributeValues: {
      ":permits": { M: { [add.token]: entryValue(add.expiresAt, add.owner) } },
      ":fences": { M: { [add.token]: N(fence) } },
      ":limit": N(limit),
      ":fence": N(fence),
      ":one": N(1),
      ":cleanupAt": cleanupAt(now + MAX_DURATION_MS),
    },
    ReturnValues: "ALL_NEW",
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  };
}

/**
 * Acquire on an existing item: add the permit if the token is absent and the
 * map, less the expired entries removed here, has room under the limit.
 */
export function semaphoreAcquireInput(table: string, semaphoreKey: string, plan: AcquirePlan): UpdateItemCommandInput {
  // DynamoDB refuses names and values the expressions do not use: each is added with its use.
  const names: Record<string, string> = {
    "#permits": NAMES["#permits"],
    "#fences": NAMES["#fences"],
    "#version": NAMES["#version"],
    "#cleanupAt": NAMES["#cleanupAt"],
  };
  const values: Record<string, AttributeValue> = {
    ":one": N(1),
    // DynamoDB has no max(): past any permit's possible expiry (the longest
    // TTL), so the item outlives all of them, as extend does.
    ":cleanupAt": cleanupAt(plan.now + MAX_DURATION_MS),
  };
  const conditions: string[] = [];
  const sets = ["#version = #version + :one", "#cleanupAt = :cleanupAt"];
  const removes: string[] = [];
  plan.drops.forEach((token, i) => {
    names[`#d${i}`] = token;
    conditions.push(`#permits.#d${i}.e < :staleBefore`);
    removes.push(`#permits.#d${i}`, `#fences.#d${i}`);
  });
  if (plan.drops.length > 0) values[":staleBefore"] = N(plan.staleBefore);
  if (plan.add) {
    names["#limit"] = NAMES["#limit"];
    values[":limit"] = N(plan.limit);
    if (plan.changeLimit) {
      // No live permit under the old limit: every entry is removed here, so none may have been added since.
      values[":size"] = N(plan.drops.length);
      conditions.push("size(#permits) <= :size");
      sets.push("#limit = :limit");
    } else {
      // After the write: size - drops + 1 <= limit.
      values[":room"] = N(plan.limit + plan.drops.length);
      conditions.push("#limit = :limit", "size(#permits) < :room");
    }
  }
  if (plan.add) {
    names["#token"] = plan.add.token;
    names["#fence"] = NAMES["#fence"];
    values[":entry"] = entryValue(plan.add.expiresAt, plan.add.owner);
    conditions.push("attribute_not_exists(#permits.#token)");
    sets.push("#permits.#token = :entry", "#fences.#token = #fence + :one", "#fence = #fence + :one");
  }
  return {
    ...key(table, semaphoreKey),
    ConditionExpression: conditions.join(" AND "),
    UpdateExpression: `SET ${sets.join(", ")}${removes.length > 0 ? ` REMOVE ${removes.join(", ")}` : ""}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValues: "ALL_NEW",
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
    UpdateExpression: "REMOVE #permits.#token, #fences.#token SET #version = #version + :one",
    ExpressionAttributeNames: {
      "#permits": NAMES["#permits"],
      "#fences": NAMES["#fences"],
      "#token": request.token,
      "#version": NAMES["#version"],
    },
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
  const fences = item.fences?.M;
  if (version === undefined || fence === undefined || limit === undefined || !map || !fences) return undefined;
  const permits = new Map<string, PermitEntry>();
  for (const [token, value] of Object.entries(map)) {
    const f = num(fences[token]);
    const e = num(value.M?.e);
    if (f === undefined || e === undefined) return undefined;
    const owner = value.M?.o?.S;
    permits.set(token, owner === undefined ? { fence: f, expiresAt: e } : { fence: f, expiresAt: e, owner });
  }
  return { version, fence, limit, permits };
}
