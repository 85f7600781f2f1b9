import {
  GetItemCommand,
  type GetItemCommandOutput,
  UpdateItemCommand,
  type UpdateItemCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { BackendError } from "../../src/errors.js";
import type { SemaphoreAcquireRequest, SemaphoreAcquireResult, SemaphoreAdapter } from "../../src/types.js";
import type { DynamoDBSender } from "./client.js";
import { translateError } from "./sdk-errors.js";
import {
  baseFence,
  NO_SEMAPHORE_ITEM,
  type PermitEntry,
  readSemaphoreItem,
  type SemaphoreItem,
  semaphoreExtendInput,
  semaphoreReadInput,
  semaphoreReleaseInput,
  semaphoreWriteInput,
} from "./semaphore-expressions.js";

/** Conditional writes one acquire tries before reporting contention (each failed one is another's success). */
const MAX_WRITES_PER_ACQUIRE = 8;
/** Items remembered per adapter, so that an uncontended acquire is one write. */
const CACHE_SIZE = 1_000;

interface Settings {
  readonly table: string;
  readonly client: DynamoDBSender;
  readonly now: () => number;
  readonly marginMs: number;
  readonly minTtlMs: number;
}

/**
 * Semaphores on DynamoDB: one item per key holding all permits. Acquire is
 * one conditional write on the item version this adapter last saw (cached
 * from its previous write or read); when another client wrote since, the
 * refused write returns the current item and the acquire is recomputed from
 * it, so a cold or contended acquire costs one more write per change it
 * missed. The clients' clocks decide expiry, with the lock's skew margin.
 */
export function dynamodbSemaphores({ table, client, now, marginMs, minTtlMs }: Settings): SemaphoreAdapter {
  const cache = new Map<string, SemaphoreItem>();
  const remember = (key: string, item: SemaphoreItem) => {
    cache.delete(key);
    cache.set(key, item);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  };
  const unreadable = (answer: unknown, applied: boolean) =>
    new BackendError("DynamoDB semaphore item is not in edgelock's shape", {
      cause: answer,
      maybeApplied: applied,
      retryable: false,
    });

  /** A strongly consistent read of the item, remembered. */
  const read = async (key: string, signal: AbortSignal | undefined): Promise<SemaphoreItem> => {
    let out: GetItemCommandOutput;
    try {
      out = await client.send(new GetItemCommand(semaphoreReadInput(table, key)), { abortSignal: signal });
    } catch (error) {
      throw translateError(error, "GetItem (semaphore read)");
    }
    const item = readSemaphoreItem(out.Item);
    if (!item) throw unreadable(out, false);
    remember(key, item);
    return item;
  };

  const acquire = async (request: SemaphoreAcquireRequest): Promise<SemaphoreAcquireResult> => {
    const ttlMs = Math.max(request.ttlMs, minTtlMs);
    let seen = cache.get(request.key) ?? NO_SEMAPHORE_ITEM;
    // A remembered copy may be stale: it can grant (the write's condition
    // checks it) but never refuse, or a waiter would not see other
    // instances' releases. A refusal is decided on a fresh read.
    let fresh = !cache.has(request.key);
    for (let write = 0; write < MAX_WRITES_PER_ACQUIRE; write++) {
      const start = now();
      // Live for contenders until expiry plus the margin, as for locks.
      const live = new Map([...seen.permits].filter(([, permit]) => permit.expiresAt >= start - marginMs));
      const own = live.get(request.token);
      if (own) {
        // Our own earlier grant (a retry after a lost answer): same fence, and only the time it still has.
        return { ok: true, fence: own.fence, ttlMs: Math.max(1, own.expiresAt - now()), expiresAt: own.expiresAt };
      }
      const refused = (live.size > 0 && seen.limit !== request.limit) || live.size >= request.limit;
      if (refused && !fresh) {
        seen = await read(request.key, request.signal);
        fresh = true;
        write--;
        continue;
      }
      if (live.size > 0 && seen.limit !== request.limit) {
        return { ok: false, reason: "limit_mismatch", limit: seen.limit };
      }
      if (live.size >= request.limit) {
        const earliest = Math.min(...Array.from(live.values(), (permit) => permit.expiresAt));
        return { ok: false, reason: "held", retryAfterMs: Math.max(1, earliest + marginMs - now()) };
      }
      const fence = seen.version === 0 ? baseFence(start) + 1 : seen.fence + 1;
      const expiresAt = start + ttlMs;
      const permit: PermitEntry = { fence, expiresAt, owner: request.owner };
      const permits = new Map(live).set(request.token, permit);
      const next = { fence, limit: request.limit, permits };
      try {
        await client.send(new UpdateItemCommand(semaphoreWriteInput(table, request.key, seen, next)), {
          abortSignal: request.signal,
        });
      } catch (error) {
        if ((error as { name?: unknown } | null)?.name !== "ConditionalCheckFailedException") {
          cache.delete(request.key);
          throw translateError(error, "UpdateItem (semaphore acquire)");
        }
        const current = readSemaphoreItem((error as { Item?: Parameters<typeof readSemaphoreItem>[0] }).Item);
        if (!current) throw unreadable(error, false);
        seen = current;
        fresh = true;
        remember(request.key, current);
        continue;
      }
      remember(request.key, { version: seen.version + 1, ...next });
      return { ok: true, fence, ttlMs, expiresAt };
    }
    throw new BackendError(`semaphore "${request.key}" changed on every one of ${MAX_WRITES_PER_ACQUIRE} writes`, {
      maybeApplied: false,
      retryable: true,
    });
  };

  return {
    capabilities: {
      // Each permit takes up to ~330 bytes (token, fence, expiry, a 256-byte owner) of the 400 KB item.
      maxLimit: 500,
      pushWakeups: false,
      requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    },
    acquire,

    async extend(request) {
      const ttlMs = Math.max(request.ttlMs, minTtlMs);
      const start = now();
      const expiresAt = start + ttlMs;
      let out: UpdateItemCommandOutput;
      try {
        out = await client.send(new UpdateItemCommand(semaphoreExtendInput(table, request, expiresAt, start)), {
          abortSignal: request.signal,
        });
      } catch (error) {
        if ((error as { name?: unknown } | null)?.name === "ConditionalCheckFailedException") {
          return { ok: false, reason: "not_held" };
        }
        throw translateError(error, "UpdateItem (semaphore extend)");
      }
      const item = readSemaphoreItem(out.Attributes);
      const permit = item?.permits.get(request.token);
      if (!item || !permit) throw unreadable(out, true);
      remember(request.key, item);
      return { ok: true, fence: permit.fence, ttlMs, expiresAt };
    },

    async release(request) {
      cache.delete(request.key);
      try {
        const out = await client.send(new UpdateItemCommand(semaphoreReleaseInput(table, request, now() - marginMs)), {
          abortSignal: request.signal,
        });
        const item = readSemaphoreItem(out.Attributes);
        if (item) remember(request.key, item);
        return { ok: true };
      } catch (error) {
        if ((error as { name?: unknown } | null)?.name === "ConditionalCheckFailedException") {
          return { ok: false, reason: "not_held" };
        }
        throw translateError(error, "UpdateItem (semaphore release)");
      }
    },

    async inspect(key, options) {
      const item = await read(key, options?.signal);
      const staleBefore = now() - marginMs;
      const permits = Array.from(item.permits.values())
        .filter((permit) => permit.expiresAt >= staleBefore)
        .map(({ fence, expiresAt, owner }) =>
          owner === undefined ? { fence, expiresAt } : { fence, expiresAt, owner },
        )
        .sort((a, b) => a.fence - b.fence);
      return { limit: permits.length > 0 ? item.limit : null, permits };
    },
  };
}
