import type {
  AdapterAcquireRequest,
  AdapterAcquireResult,
  AdapterCapabilities,
  AdapterExtendRequest,
  AdapterExtendResult,
  AdapterReleaseRequest,
  AdapterReleaseResult,
  LockAdapter,
  LockState,
} from "../../src/types.js";
import { MAX_DURATION_MS } from "../../src/validate.js";
import { memorySemaphores } from "./semaphores.js";

/** Options of {@link memoryAdapter}. */
export interface MemoryAdapterOptions {
  /** Clock, epoch ms. Default `Date.now`; tests may inject a fake one. */
  readonly now?: () => number;
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
 * Expired holders are dropped lazily on access; fence counters are kept per
 * key for the adapter's lifetime so fences never go backwards.
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
  const fences = new Map<string, number>();

  const current = (key: string): Holder | undefined => {
    const holder = holders.get(key);
    if (holder && holder.expiresAt <= now()) {
      holders.delete(key);
      return undefined;
    }
    return holder;
  };

  const capabilities: AdapterCapabilities = {
    name: "memory",
    clock: "backend",
    clockSkewMarginMs: 0,
    ttl: { minMs: 1, maxMs: MAX_DURATION_MS, granularityMs: 1 },
    fencing: { native: true },
    pushWakeups: false,
    requestsPerOperation: { acquire: 0, extend: 0, release: 0, inspect: 0 },
  };

  return {
    capabilities,
    semaphores: memorySemaphores(now),

    async acquire({ key, token, ttlMs, owner }: AdapterAcquireRequest): Promise<AdapterAcquireResult> {
      const holder = current(key);
      if (holder?.token === token) {
        // A retry of our own grant: refresh, so the TTL reported is the one in force.
        holder.expiresAt = now() + ttlMs;
        return { ok: true, fence: holder.fence, ttlMs, expiresAt: holder.expiresAt };
      }
      if (holder) return { ok: false, reason: "held", retryAfterMs: holder.expiresAt - now() };
      const fence = (fences.get(key) ?? 0) + 1;
      fences.set(key, fence);
      const expiresAt = now() + ttlMs;
      holders.set(key, { token, fence, expiresAt, owner });
      return { ok: true, fence, ttlMs, expiresAt };
    },

    async extend({ key, token, ttlMs }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const holder = current(key);
      if (holder?.token !== token) return { ok: false, reason: "not_held" };
      holder.expiresAt = now() + ttlMs;
      return { ok: true, fence: holder.fence, ttlMs, expiresAt: holder.expiresAt };
    },

    async release({ key, token }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const holder = current(key);
      if (holder?.token !== token) return { ok: false, reason: "not_held" };
      holders.delete(key);
      return { ok: true };
    },

    async inspect(key: string): Promise<LockState> {
      const holder = current(key);
      if (!holder) return { held: false };
      return { held: true, fence: holder.fence, expiresAt: holder.expiresAt, owner: holder.owner };
    },
  };
}
