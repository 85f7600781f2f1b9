import { type AttributeValue, GetItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
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
import { acquireInput, extendInput, forceReleaseInput, inspectInput, releaseInput } from "./expressions.js";
import { optionalNumber, readNumber } from "./item-attributes.js";
import { type DynamoDBAdapterOptions, resolveOptions } from "./options.js";
import { conditionFailed, translateError } from "./sdk-errors.js";
import { dynamodbSemaphores } from "./semaphores.js";
import { readValueInput, writeValueInput } from "./value-expressions.js";

export type { DynamoDBSender } from "./client.js";
export { FENCE_BASE_PER_MS } from "./expressions.js";
export { type FencedWriteOptions, fencedPut, fencedUpdate, isFenceRejection } from "./fenced-write.js";
export { DYNAMODB_DEFAULT_CLOCK_SKEW_MARGIN_MS, type DynamoDBAdapterOptions } from "./options.js";
export {
  type CreateLockTableOptions,
  createLockTable,
  DYNAMODB_CLEANUP_DELAY_S,
  DYNAMODB_DEFAULT_TABLE,
  DYNAMODB_PARTITION_KEY,
  DYNAMODB_TTL_ATTRIBUTE,
} from "./table.js";

/**
 * Largest guarded value, bytes of JSON (256 KiB): DynamoDB items are capped
 * at 400 KB, and the lock's own attributes and the key share the item.
 */
export const DYNAMODB_MAX_VALUE_BYTES = 262_144;

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
  const { table, marginMs, now, client, owned } = resolveOptions(options);
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
