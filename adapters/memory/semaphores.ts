import type {
  AdapterExtendRequest,
  AdapterExtendResult,
  AdapterReleaseRequest,
  AdapterReleaseResult,
  SemaphoreAcquireRequest,
  SemaphoreAcquireResult,
  SemaphoreAdapter,
  SemaphoreState,
} from "../../src/types.js";

interface Permit {
  readonly fence: number;
  expiresAt: number;
  readonly owner: string | undefined;
}

interface Semaphore {
  limit: number;
  /** Live permits by token. */
  readonly permits: Map<string, Permit>;
}

/**
 * Semaphores in this process's memory, the reference for the contract:
 * expired permits are dropped on access, fence counters live as long as the
 * adapter.
 */
export function memorySemaphores(now: () => number): SemaphoreAdapter {
  const semaphores = new Map<string, Semaphore>();
  const fences = new Map<string, number>();

  const live = (key: string): Semaphore | undefined => {
    const semaphore = semaphores.get(key);
    if (!semaphore) return undefined;
    const at = now();
    for (const [token, permit] of semaphore.permits) if (permit.expiresAt <= at) semaphore.permits.delete(token);
    if (semaphore.permits.size === 0) {
      semaphores.delete(key);
      return undefined;
    }
    return semaphore;
  };

  const mine = (key: string, token: string): Permit | undefined => live(key)?.permits.get(token);

  return {
    capabilities: {
      maxLimit: 10_000,
      pushWakeups: false,
      requestsPerOperation: { acquire: 0, extend: 0, release: 0, inspect: 0 },
    },

    async acquire({ key, token, ttlMs, owner, limit }: SemaphoreAcquireRequest): Promise<SemaphoreAcquireResult> {
      const semaphore = live(key);
      const own = semaphore?.permits.get(token);
      if (own) {
        own.expiresAt = now() + ttlMs;
        return { ok: true, fence: own.fence, ttlMs, expiresAt: own.expiresAt };
      }
      if (semaphore && semaphore.limit !== limit) {
        return { ok: false, reason: "limit_mismatch", limit: semaphore.limit };
      }
      if (semaphore && semaphore.permits.size >= limit) {
        const earliest = Math.min(...Array.from(semaphore.permits.values(), (permit) => permit.expiresAt));
        return { ok: false, reason: "held", retryAfterMs: Math.max(0, earliest - now()) };
      }
      const fence = (fences.get(key) ?? 0) + 1;
      fences.set(key, fence);
      const expiresAt = now() + ttlMs;
      const target = semaphore ?? { limit, permits: new Map<string, Permit>() };
      target.permits.set(token, { fence, expiresAt, owner });
      semaphores.set(key, target);
      return { ok: true, fence, ttlMs, expiresAt };
    },

    async extend({ key, token, ttlMs }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const permit = mine(key, token);
      if (!permit) return { ok: false, reason: "not_held" };
      permit.expiresAt = now() + ttlMs;
      return { ok: true, fence: permit.fence, ttlMs, expiresAt: permit.expiresAt };
    },

    async release({ key, token }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const semaphore = live(key);
      if (!semaphore?.permits.delete(token)) return { ok: false, reason: "not_held" };
      if (semaphore.permits.size === 0) semaphores.delete(key);
      return { ok: true };
    },

    async inspect(key: string): Promise<SemaphoreState> {
      const semaphore = live(key);
      if (!semaphore) return { limit: null, permits: [] };
      const permits = Array.from(semaphore.permits.values(), ({ fence, expiresAt, owner }) =>
        owner === undefined ? { fence, expiresAt } : { fence, expiresAt, owner },
      ).sort((a, b) => a.fence - b.fence);
      return { limit: semaphore.limit, permits };
    },
  };
}
