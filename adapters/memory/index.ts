import { LockAbortedError } from "../../src/errors.js";
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
import { memorySemaphores } from "./semaphores.js";
import { MemoryWaiters } from "./waiters.js";

/** Options of {@link memoryAdapter}. */
export interface MemoryAdapterOptions {
  /** Clock, epoch ms. Default `Date.now`; tests may inject a fake one. */
  readonly now?: () => number;
}

/** Largest guarded value the memory adapter keeps, bytes of JSON (1 MiB). */
export const MEMORY_MAX_VALUE_BYTES = 1_048_576;

interface Value extends StoredValue {
  readonly writeId: string | undefined;
}

interface Holder {
  readonly token: string;
  readonly fence: number;
  expiresAt: number;
  readonly owner: string | undefined;
}

/**
 * Locks in this process's memory: the reference implementation of the
 * adapter contract, for tests and for single-instance programs. Nothing is
 * shared between processes or isolates.
 *
 * An acquire with a wait is queued for its key and handed the lock, first
 * come first served, the moment a release, a break or the holder's expiry
 * frees it (`pushWakeups`): no waiter polls.
 *
 * Only held keys take memory: a released key is forgotten at once, expired
 * holders are swept whenever the map has doubled since the last sweep
 * (amortised O(1) per acquire). Fences come from one counter for the whole
 * adapter, so they rise per key without remembering any key.
 *
 * @example
 * ```ts
 * import { createLocker, memoryAdapter } from "edgelock";
 * const locker = createLocker({ adapter: memoryAdapter() });
 * ```
 */
export function memoryAdapter(options: MemoryAdapterOptions = {}): LockAdapter {
  const now = options.now ?? Date.now;
  const holders = new Map<string, Holder>();
  // Guarded values outlive their locks (never swept): a value is deleted only by its holder.
  const values = new Map<string, Value>();
  let lastFence = 0;
  let sweepAt = 1_024;

  const sweep = () => {
    const at = now();
    for (const [key, holder] of holders) if (holder.expiresAt <= at) holders.delete(key);
    sweepAt = Math.max(1_024, 2 * holders.size);
  };

  const current = (key: string): Holder | undefined => {
    const holder = holders.get(key);
    if (holder && holder.expiresAt <= now()) {
      holders.delete(key);
      return undefined;
    }
    return holder;
  };

  const hold = (key: string, token: string, ttlMs: number, owner: string | undefined): Holder => {
    const holder = { token, fence: ++lastFence, expiresAt: now() + ttlMs, owner };
    holders.set(key, holder);
    if (holders.size >= sweepAt) sweep();
    return holder;
  };

  // The live holder of `key` after handing a free key to its oldest waiter.
  const settle = (key: string): Holder | undefined => {
    let holder = current(key);
    while (!holder) {
      const waiter = waiters.shift(key);
      if (!waiter) return undefined;
      holder = hold(key, waiter.token, waiter.ttlMs, waiter.owner);
      const { fence, expiresAt } = holder;
      waiter.answer({ ok: true, fence, ttlMs: waiter.ttlMs, expiresAt, waitedMs: now() - waiter.queuedAt });
    }
    waiters.arm(key, holder.expiresAt);
    return holder;
  };
  const waiters = new MemoryWaiters(now, settle);

  const capabilities: AdapterCapabilities = {
    name: "memory",
    clock: "backend",
    clockSkewMarginMs: 0,
    ttl: { minMs: 1, maxMs: MAX_DURATION_MS, granularityMs: 1 },
    fencing: { native: true },
    pushWakeups: true,
    requestsPerPushWait: 0,
    requestsPerOperation: { acquire: 0, extend: 0, release: 0, inspect: 0 },
    forceRelease: { requests: 0 },
    guardedValue: { maxBytes: MEMORY_MAX_VALUE_BYTES, requestsPerOperation: { read: 0, write: 0 } },
  };

  return {
    capabilities,
    semaphores: memorySemaphores(now),

    async acquire(request: AdapterAcquireRequest): Promise<AdapterAcquireResult> {
      // `request.signal` is read only to queue: the lock client makes its signal on first read.
      const { key, token, ttlMs, waitMs, owner } = request;
      // A retry of a queued acquire (the first call timed out) takes its place.
      waiters.withdraw(key, token);
      // A free key goes to whoever queued first, not to this newcomer.
      const holder = settle(key);
      if (holder?.token === token) {
        // A retry of our own grant: refresh, so the TTL reported is the one in force.
        holder.expiresAt = now() + ttlMs;
        return { ok: true, fence: holder.fence, ttlMs, expiresAt: holder.expiresAt };
      }
      if (!holder) {
        const { fence, expiresAt } = hold(key, token, ttlMs, owner);
        return { ok: true, fence, ttlMs, expiresAt };
      }
      if (!waitMs) return { ok: false, reason: "held", retryAfterMs: holder.expiresAt - now() };
      const signal = request.signal;
      if (signal?.aborted) throw new LockAbortedError("acquire aborted before it was queued", { cause: signal.reason });
      return waiters.wait(key, { token, ttlMs, owner }, waitMs, holder.expiresAt, signal);
    },

    async extend({ key, token, ttlMs }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const holder = settle(key);
      if (holder?.token !== token) return { ok: false, reason: "not_held" };
      holder.expiresAt = now() + ttlMs;
      return { ok: true, fence: holder.fence, ttlMs, expiresAt: holder.expiresAt };
    },

    async release({ key, token }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      // Releasing gives the token up: a wait still queued under it must not end up holding the key.
      waiters.withdraw(key, token);
      const holder = current(key);
      if (holder?.token !== token) return { ok: false, reason: "not_held" };
      holders.delete(key);
      settle(key);
      return { ok: true };
    },

    async forceRelease({ key, fence }: AdapterForceReleaseRequest): Promise<AdapterForceReleaseResult> {
      const holder = current(key);
      if (holder?.fence !== fence) return { ok: false, reason: "not_held" };
      holders.delete(key);
      settle(key);
      return { ok: true };
    },

    async inspect(key: string): Promise<LockState> {
      const holder = settle(key);
      if (!holder) return { held: false };
      return { held: true, fence: holder.fence, expiresAt: holder.expiresAt, owner: holder.owner };
    },

    async readValue(key: string): Promise<StoredValue> {
      const value = values.get(key);
      return { json: value?.json, version: value?.version ?? 0, fence: value?.fence ?? 0 };
    },

    async writeValue({ key, token, json, writeId, expectedVersion }: AdapterWriteRequest): Promise<AdapterWriteResult> {
      const stored = values.get(key);
      if (stored && stored.writeId === writeId) return { ok: true, version: stored.version, fence: stored.fence };
      const holder = current(key);
      if (holder?.token !== token) return { ok: false, reason: "not_held" };
      const version = stored?.version ?? 0;
      if (expectedVersion !== undefined && expectedVersion !== version) {
        return { ok: false, reason: "version_mismatch", version };
      }
      const next = { json: json ?? undefined, version: version + 1, fence: holder.fence, writeId };
      values.set(key, next);
      return { ok: true, version: next.version, fence: next.fence };
    },
  };
}
