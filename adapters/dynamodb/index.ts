import {
  type AttributeValue,
  type DynamoDBClientConfig,
  GetItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { BackendError, InvalidArgumentError } from "../../src/errors.js";
import type {
  AdapterAcquireRequest,
  AdapterAcquireResult,
  AdapterCapabilities,
  AdapterExtendRequest,
  AdapterExtendResult,
  AdapterForceReleaseRequest,
  AdapterForceReleaseResult,
  AdapterReleaseRequest,
  AdapterReleaseResult,
  AdapterWriteRequest,
  AdapterWriteResult,
  LockAdapter,
  LockState,
  StoredValue,
} from "../../src/types.js";
import { MAX_DURATION_MS } from "../../src/validate.js";
import { WaitSchedule } from "../../src/wait-schedule.js";
import { type DynamoDBSender, fetchDynamoDBClient } from "./client.js";
import { acquireInput, extendInput, forceReleaseInput, inspectInput, releaseInput } from "./expressions.js";
import { translateError } from "./sdk-errors.js";
import { dynamodbSemaphores } from "./semaphores.js";
import { DYNAMODB_DEFAULT_TABLE } from "./table.js";
import { readValueInput, writeValueInput } from "./value-expressions.js";

export type { DynamoDBSender } from "./client.js";
export { FENCE_BASE_PER_MS } from "./expressions.js";
export { type FencedWriteOptions, fencedPut, fencedUpdate, isFenceRejection } from "./fenced-write.js";
export {
  type CreateLockTableOptions,
  createLockTable,
  DYNAMODB_CLEANUP_DELAY_S,
  DYNAMODB_DEFAULT_TABLE,
  DYNAMODB_PARTITION_KEY,
  DYNAMODB_TTL_ATTRIBUTE,
} from "./table.js";

/** Production default of {@link DynamoDBAdapterOptions.clockSkewMarginMs}. */
export const DYNAMODB_DEFAULT_CLOCK_SKEW_MARGIN_MS = 1_000;

/**
 * Largest guarded value, bytes of JSON (256 KiB): DynamoDB items are capped
 * at 400 KB, and the lock's own attributes and the key share the item.
 */
export const DYNAMODB_MAX_VALUE_BYTES = 262_144;

/** Largest accepted clock-skew margin, ms. */
const MAX_MARGIN_MS = 600_000;

/** Options of {@link dynamodbAdapter}. */
export interface DynamoDBAdapterOptions {
  /** Table name. Default {@link DYNAMODB_DEFAULT_TABLE}. */
  readonly table?: string;
  /**
   * A client you built. Only `send` is used. The adapter then cannot control
   * its transport or retries: see the docs for keeping it fetch-only. Do not
   * combine with `region`, `endpoint`, `credentials` or `fetch`.
   */
  readonly client?: DynamoDBSender;
  /** AWS region of the client the adapter builds. Needed unless the runtime provides `AWS_REGION` to the SDK. */
  readonly region?: string;
  /** Endpoint override (DynamoDB Local, a VPC endpoint). */
  readonly endpoint?: string;
  /**
   * Credentials or a credential provider for the client the adapter builds.
   * Default: the SDK's chain for the runtime (environment variables on Lambda).
   */
  readonly credentials?: DynamoDBClientConfig["credentials"];
  /** `fetch` for every request of the client the adapter builds. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /**
   * Largest clock difference tolerated between any two clients, ms. Default
   * 1 000. A contender sees a lock expired only this long after its stated
   * expiry; the lock client ends its holder's lease this long before it.
   */
  readonly clockSkewMarginMs?: number;
  /** Clock deciding expiry, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Locks in a DynamoDB table, one item per key, each operation one
 * conditional write (or one strongly consistent read for `inspect`). The
 * clients' clocks decide expiry, with a skew margin; fences are bumped in
 * the granting write and never go backwards, even after DynamoDB TTL
 * deletes an idle item.
 *
 * @example
 * ```ts
 * import { createLocker } from "edgelock";
 * import { dynamodbAdapter } from "edgelock/dynamodb";
 *
 * const locker = createLocker({
 *   adapter: dynamodbAdapter({ table: "locks", region: "eu-west-1" }),
 * });
 * const result = await locker.withLock("invoice:42", async (lease) => charge(lease.fence));
 * ```
 */
export function dynamodbAdapter(options: DynamoDBAdapterOptions = {}): LockAdapter {
  if (options.client !== undefined) {
    for (const own of ["region", "endpoint", "credentials", "fetch"] as const) {
      if (options[own] !== undefined) {
        throw new InvalidArgumentError(
          `dynamodbAdapter: pass either client or ${own}, not both (configure your client)`,
        );
      }
    }
  }
  const table = validateTable(options.table ?? DYNAMODB_DEFAULT_TABLE);
  const marginMs = validateMargin(options.clockSkewMarginMs ?? DYNAMODB_DEFAULT_CLOCK_SKEW_MARGIN_MS);
  const now = options.now ?? Date.now;
  const client = options.client ?? ownClient(options);
  const owned = options.client === undefined;
  // The holder's lease ends a margin early, and auto-extension runs every
  // third of the TTL: from 3 × margin on, each extension has at least a
  // margin of time to complete before the lease would lapse.
  const minMs = 3 * marginMs;

  const capabilities: AdapterCapabilities = {
    name: "dynamodb",
    clock: "client",
    clockSkewMarginMs: marginMs,
    ttl: { minMs, maxMs: MAX_DURATION_MS, granularityMs: 1 },
    fencing: { native: true },
    pushWakeups: false,
    requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    forceRelease: { requests: 1 },
    guardedValue: { maxBytes: DYNAMODB_MAX_VALUE_BYTES, requestsPerOperation: { read: 1, write: 1 } },
  };

  const schedule = new WaitSchedule({ now });

  return {
    capabilities,
    pollWait: (request) => schedule.wait(request),
    semaphores: dynamodbSemaphores({ table, client, now, marginMs, minTtlMs: minMs }),

    async acquire(request: AdapterAcquireRequest): Promise<AdapterAcquireResult> {
      const ttlMs = Math.max(request.ttlMs, minMs);
      const start = now();
      const expiresAt = start + ttlMs;
      const input = acquireInput(table, request, expiresAt, start - marginMs, start);
      try {
        const out = await client.send(new UpdateItemCommand(input), { abortSignal: request.signal });
        const fence = readNumber(out.Attributes, "fence", true, out);
        schedule.granted(request.key, request.token, fence, expiresAt, {
          releasedAt: optionalNumber(out.Attributes, "releasedAt"),
          lastHeldMs: optionalNumber(out.Attributes, "heldMs"),
        });
        return { ok: true, fence, ttlMs, expiresAt };
      } catch (error) {
        if (!conditionFailed(error)) throw translateError(error, "UpdateItem (acquire)");
        const old = (error as { Item?: Record<string, AttributeValue> }).Item;
        const heldUntil = readNumber(old, "expiresAt", false, error);
        const left = heldUntil - now();
        if (old?.token?.S !== request.token) {
          schedule.refused(request.key, request.token, {
            fence: optionalNumber(old, "fence"),
            acquiredAt: optionalNumber(old, "acquiredAt"),
            lastHeldMs: optionalNumber(old, "heldMs"),
          });
        }
        if (old?.token?.S === request.token) {
          // Our own grant, whose answer was lost: same fence, and only the
          // time it still has (it counts from the first attempt, not this one).
          return {
            ok: true,
            fence: readNumber(old, "fence", false, error),
            ttlMs: Math.max(1, left),
            expiresAt: heldUntil,
          };
        }
        return { ok: false, reason: "held", retryAfterMs: Math.max(1, left + marginMs) };
      }
    },

    async extend(request: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const ttlMs = Math.max(request.ttlMs, minMs);
      const start = now();
      const expiresAt = start + ttlMs;
      let fence: number;
      try {
        const out = await client.send(new UpdateItemCommand(extendInput(table, request, expiresAt, start)), {
          abortSignal: request.signal,
        });
        fence = readNumber(out.Attributes, "fence", true, out);
      } catch (error) {
        if (conditionFailed(error)) return { ok: false, reason: "not_held" };
        throw translateError(error, "UpdateItem (extend)");
      }
      schedule.extended(request.key, request.token, expiresAt);
      return { ok: true, fence, ttlMs, expiresAt };
    },

    async release(request: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const start = now();
      try {
        await client.send(new UpdateItemCommand(releaseInput(table, request, start - marginMs, start)), {
          abortSignal: request.signal,
        });
        return { ok: true };
      } catch (error) {
        if (conditionFailed(error)) return { ok: false, reason: "not_held" };
        throw translateError(error, "UpdateItem (release)");
      } finally {
        // Whatever the answer: a local waiter woken in vain costs one request.
        schedule.released(request.key, request.token);
      }
    },

    async forceRelease(request: AdapterForceReleaseRequest): Promise<AdapterForceReleaseResult> {
      const start = now();
      try {
        await client.send(new UpdateItemCommand(forceReleaseInput(table, request, start - marginMs, start)), {
          abortSignal: request.signal,
        });
        return { ok: true };
      } catch (error) {
        if (conditionFailed(error)) return { ok: false, reason: "not_held" };
        throw translateError(error, "UpdateItem (forceRelease)");
      }
    },

    async inspect(key: string, callOptions?: { signal?: AbortSignal | undefined }): Promise<LockState> {
      let item: Record<string, AttributeValue> | undefined;
      try {
        const out = await client.send(new GetItemCommand(inspectInput(table, key)), {
          abortSignal: callOptions?.signal,
        });
        item = out.Item;
      } catch (error) {
        throw translateError(error, "GetItem (inspect)");
      }
      if (item?.token?.S === undefined) return { held: false };
      const expiresAt = readNumber(item, "expiresAt", false, item);
      // Same rule as acquire's condition: held until expiry plus margin, so
      // inspect never calls free a lock that acquire would refuse.
      if (expiresAt < now() - marginMs) return { held: false };
      const fence = readNumber(item, "fence", false, item);
      const owner = item.owner?.S;
      return owner === undefined ? { held: true, fence, expiresAt } : { held: true, fence, expiresAt, owner };
    },

    async readValue(key: string, callOptions?: { signal?: AbortSignal | undefined }): Promise<StoredValue> {
      let item: Record<string, AttributeValue> | undefined;
      try {
        const out = await client.send(new GetItemCommand(readValueInput(table, key)), {
          abortSignal: callOptions?.signal,
        });
        item = out.Item;
      } catch (error) {
        throw translateError(error, "GetItem (read value)");
      }
      if (item?.version === undefined) return { json: undefined, version: 0, fence: 0 };
      return {
        json: item.value?.S,
        version: readNumber(item, "version", false, item),
        fence: readNumber(item, "valueFence", false, item),
      };
    },

    async writeValue(request: AdapterWriteRequest): Promise<AdapterWriteResult> {
      const start = now();
      // The holder's side of the margin: its write must land while every
      // contender still sees the lock held.
      const input = writeValueInput(table, request, start + marginMs, start);
      try {
        const out = await client.send(new UpdateItemCommand(input), { abortSignal: request.signal });
        return {
          ok: true,
          version: readNumber(out.Attributes, "version", true, out),
          fence: readNumber(out.Attributes, "valueFence", true, out),
        };
      } catch (error) {
        if (!conditionFailed(error)) throw translateError(error, "UpdateItem (write value)");
        const old = (error as { Item?: Record<string, AttributeValue> }).Item;
        if (old?.writeId?.S === request.writeId) {
          return {
            ok: true,
            version: readNumber(old, "version", true, error),
            fence: readNumber(old, "valueFence", true, error),
          };
        }
        const expiresAt = old?.expiresAt?.N === undefined ? Number.NaN : Number(old.expiresAt.N);
        if (old?.token?.S !== request.token || !(expiresAt > start + marginMs))
          return { ok: false, reason: "not_held" };
        const version = old.version === undefined ? 0 : readNumber(old, "version", false, error);
        return { ok: false, reason: "version_mismatch", version };
      }
    },

    async dispose(): Promise<void> {
      if (owned) (client as { destroy?: () => void }).destroy?.();
    },
  };
}

function ownClient(options: DynamoDBAdapterOptions): DynamoDBSender {
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") throw new InvalidArgumentError("dynamodbAdapter needs a fetch function");
  return fetchDynamoDBClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    fetch: fetchFn,
  });
}

function conditionFailed(error: unknown): boolean {
  // By name, not instanceof: a user's client may come from another copy of the SDK.
  return (error as { name?: unknown } | null)?.name === "ConditionalCheckFailedException";
}

/**
 * A number attribute the adapter wrote. Missing or unsafe means the item was
 * changed by something else; after a write that went through (`applied`),
 * the lock may be ours, so the lock client must not take it as "not applied".
 */
function readNumber(
  item: Record<string, AttributeValue> | undefined,
  name: string,
  applied: boolean,
  answer: unknown,
): number {
  const raw = item?.[name]?.N;
  const value = raw === undefined ? Number.NaN : Number(raw);
  if (!Number.isSafeInteger(value)) {
    throw new BackendError(`DynamoDB lock item has no readable "${name}" (got ${JSON.stringify(item?.[name])})`, {
      cause: answer,
      maybeApplied: applied,
      retryable: false,
    });
  }
  return value;
}

/** A number attribute that may be absent (written by an older version, or never): `undefined` then. */
function optionalNumber(item: Record<string, AttributeValue> | undefined, name: string): number | undefined {
  const raw = item?.[name]?.N;
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
}

function validateTable(table: unknown): string {
  if (typeof table !== "string" || !/^[A-Za-z0-9_.-]{3,255}$/.test(table)) {
    throw new InvalidArgumentError(`table must be 3 to 255 characters of A-Z a-z 0-9 _ . -, got ${String(table)}`);
  }
  return table;
}

function validateMargin(margin: unknown): number {
  if (typeof margin !== "number" || !Number.isSafeInteger(margin) || margin < 1 || margin > MAX_MARGIN_MS) {
    throw new InvalidArgumentError(`clockSkewMarginMs must be an integer from 1 to ${MAX_MARGIN_MS}, got ${margin}`);
  }
  return margin;
}
