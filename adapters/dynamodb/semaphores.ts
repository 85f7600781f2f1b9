import {
  GetItemCommand,
  type GetItemCommandOutput,
  UpdateItemCommand,
  type UpdateItemCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { BackendError } from "../../src/errors.js";
import type { SemaphoreAcquireRequest, SemaphoreAcquireResult, SemaphoreAdapter } from "../../src/types.js";
import type { DynamoDBSender } from "./client.js";
import { conditionFailed, translateError } from "./sdk-errors.js";
import {
  MAX_DROPS_PER_WRITE,
  NO_SEMAPHORE_ITEM,
  readSemaphoreItem,
  type SemaphoreItem,
  semaphoreAcquireInput,
  semaphoreCreateInput,
  semaphoreExtendInput,
  semaphoreReadInput,
  semaphoreReleaseInput,
} from "./semaphore-expressions.js";

/**
 * Conditional writes one acquire tries before it reports a refusal. A write
 * is refused only when its outcome changed (the set filled up, an expired
 * entry it removes was taken or extended, the limit changed), and the
 * refused write returns the current item, so one or two writes are the rule.
 */
const MAX_WRITES_PER_ACQUIRE = 8;
/** `retryAfterMs` of the refusal after {@link MAX_WRITES_PER_ACQUIRE}: retry soon, with jitter. */
const CONTENDED_RETRY_MS = 20;
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
 * one conditional write that adds this token's entry if it is absent and the
 * map has room under the limit (see semaphore-expressions.ts), planned from
 * the item this adapter last saw; other clients' writes that leave room do
 * not refuse it. A refused write returns the current item and the acquire is
 * replanned from it: a cold adapter's first acquire may cost two writes, a
 * set that really filled up is refused on the item that write returned. The
 * clients' clocks decide expiry, with the lock's skew margin.
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
      const staleBefore = start - marginMs;
      // Live for contenders until expiry plus the margin, as for locks.
      const live = [...seen.permits].filter(([, permit]) => permit.expiresAt >= staleBefore);
      const stale = [...seen.permits].filter(([, permit]) => permit.expiresAt < staleBefore).map(([token]) => token);
      const own = seen.permits.get(request.token);
      if (own && own.expiresAt >= staleBefore) {
        // Our own earlier grant (a retry after a lost answer): same fence, and only the time it still has.
        return { ok: true, fence: own.fence, ttlMs: Math.max(1, own.expiresAt - now()), expiresAt: own.expiresAt };
      }
      const mismatch = live.length > 0 && seen.limit !== request.limit;
      if ((mismatch || live.length >= request.limit) && !fresh) {
        seen = await read(request.key, request.signal);
        fresh = true;
        write--;
        continue;
      }
      if (mismatch) return { ok: false, reason: "limit_mismatch", limit: seen.limit };
      if (live.length >= request.limit) {
        const earliest = Math.min(...live.map(([, permit]) => permit.expiresAt));
        return { ok: false, reason: "held", retryAfterMs: Math.max(1, earliest + marginMs - now()) };
      }
      const add = { token: request.token, expiresAt: start + ttlMs, owner: request.owner };
      let input: ReturnType<typeof semaphoreCreateInput>;
      if (seen.version === 0) {
        input = semaphoreCreateInput(table, request.key, add, request.limit, start);
      } else {
        const changeLimit = seen.limit !== request.limit;
        // Expired entries are removed only when the room is needed (each removal is a condition that can fail).
        const needed = changeLimit ? seen.permits.size : seen.permits.size + 1 - request.limit;
        let drops = needed > 0 ? stale.slice(0, MAX_DROPS_PER_WRITE) : [];
        // Our own entry, expired (a retry after its TTL): it must go before the token can be added again.
        if (own && !drops.includes(request.token)) drops = [request.token];
        // Too many to remove in one write, or our own expired entry among them: remove first, add next time.
        const cleanupOnly = drops.length < needed || drops.includes(request.token);
        input = semaphoreAcquireInput(table, request.key, {
          ...(cleanupOnly ? {} : { add }),
          limit: request.limit,
          drops,
          changeLimit,
          staleBefore,
          now: start,
        });
      }
      let out: UpdateItemCommandOutput;
      try {
        out = await client.send(new UpdateItemCommand(input), { abortSignal: request.signal });
      } catch (error) {
        if (!conditionFailed(error)) {
          cache.delete(request.key);
          throw translateError(error, "UpdateItem (semaphore acquire)");
        }
        // Refused: nothing was written. The current item decides the next try
        // (and shows our permit if an earlier attempt of this write was applied).
        const current = readSemaphoreItem((error as { Item?: Parameters<typeof readSemaphoreItem>[0] }).Item);
        if (!current) throw unreadable(error, false);
        seen = current;
        fresh = true;
        remember(request.key, current);
        continue;
      }
      const item = readSemaphoreItem(out.Attributes);
      if (!item) throw unreadable(out, true);
      seen = item;
      fresh = true;
      remember(request.key, item);
      const permit = item.permits.get(request.token);
      if (permit) return { ok: true, fence: permit.fence, ttlMs, expiresAt: permit.expiresAt };
      // A clean-up write: the next turn adds the permit.
    }
    // Every write was refused because the set kept changing (or went to
    // clean-up). Safe to report as a refusal: a refused write applies nothing,
    // a clean-up write adds no permit, and a write the SDK retried after a lost
    // answer shows our token in the item the retry returns (granted above); an
    // answer lost for good throws, and the client resolves it with the token.
    // So no permit of ours exists: the waiting client polls again after a
    // short pause, and tryAcquire reports "held" for a set that was contended.
    return { ok: false, reason: "held", retryAfterMs: 1 + Math.floor(Math.random() * CONTENDED_RETRY_MS) };
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
        if (conditionFailed(error)) {
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
        if (conditionFailed(error)) {
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
