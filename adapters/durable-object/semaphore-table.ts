import type { SyncKvStorage } from "cloudflare:workers";
import { WaitQueue } from "../../src/internal/wait-queue.js";
import type { ExtendAnswer, ExtendCall, GrantAnswer, ReleaseAnswer, TokenCall } from "./protocol.js";
import type { SemaphoreAcquireAnswer, SemaphoreAcquireCall, SemaphoreInspectAnswer } from "./semaphore-protocol.js";

/** Storage key of the semaphore's permits; every storage key it writes starts with `sem`. */
export const SEMAPHORE_KEY = "sem";
/** Storage key of the semaphore's fence counter: never deleted. */
const SEMAPHORE_FENCE_KEY = "semfence";

interface Permit {
  readonly fence: number;
  readonly expiresAt: number;
  readonly owner?: string;
}

interface Stored {
  readonly limit: number;
  readonly permits: Record<string, Permit>;
}

/**
 * The permits of one semaphore inside its object. Calls run one at a time
 * (the object is single-threaded and nothing here awaits), so each is
 * atomic. Acquires with a wait queue FIFO and are granted, by push, the
 * moment a permit frees (release or expiry, the object's alarm).
 */
export class SemaphoreTable {
  readonly #kv: SyncKvStorage;
  readonly #queue = new WaitQueue<SemaphoreAcquireAnswer>();
  readonly #maxWaiters: number;

  constructor(kv: SyncKvStorage, maxWaiters: number) {
    this.#kv = kv;
    this.#maxWaiters = maxWaiters;
  }

  /**
   * Answer at once, or (with `waitMs`, when full) a promise answered when a
   * permit frees or the wait ends. `onDeadline` runs when a queued wait ends.
   */
  acquire(
    call: SemaphoreAcquireCall,
    now: number,
    onDeadline: (token: string) => void,
    signal?: AbortSignal,
  ): SemaphoreAcquireAnswer | Promise<SemaphoreAcquireAnswer> {
    // A retry of a queued acquire takes over the old place, as for locks.
    this.#queue.take(call.token)?.answer({ ok: false, reason: "cancelled" });
    const state = this.settle(now);
    const own = state && ownPermit(state, call.token);
    if (own) return this.#write(state, call.token, { ...own, expiresAt: now + call.ttlMs }, call.ttlMs);
    if (state && state.limit !== call.limit) return { ok: false, reason: "limit_mismatch", limit: state.limit };
    const live = state ? Object.keys(state.permits).length : 0;
    if (live < call.limit) {
      return this.#write(
        state ?? { limit: call.limit, permits: {} },
        call.token,
        this.#newPermit(call, now),
        call.ttlMs,
      );
    }
    const waitMs = call.waitMs ?? 0;
    const retryAfterMs = Math.max(1, (this.nextExpiry() ?? now + 1) - now);
    if (waitMs <= 0 || this.#queue.size >= this.#maxWaiters) return { ok: false, reason: "held", retryAfterMs };
    return new Promise<SemaphoreAcquireAnswer>((answer) => {
      const waiter = {
        token: call.token,
        ttlMs: call.ttlMs,
        owner: call.owner,
        queuedAt: now,
        deadline: now + waitMs,
        answer,
      };
      this.#queue.push(waiter, now, onDeadline);
      signal?.addEventListener("abort", () => {
        if (this.#queue.remove(waiter)) waiter.answer({ ok: false, reason: "cancelled" });
      });
    });
  }

  extend(call: ExtendCall, now: number): ExtendAnswer {
    const state = this.settle(now);
    const own = state && ownPermit(state, call.token);
    if (!state || !own) return { ok: false, reason: "not_held" };
    return this.#write(state, call.token, { ...own, expiresAt: now + call.ttlMs }, call.ttlMs);
  }

  release(call: TokenCall, now: number): ReleaseAnswer {
    this.#queue.take(call.token)?.answer({ ok: false, reason: "cancelled" });
    const state = this.settle(now);
    if (!state || !ownPermit(state, call.token)) return { ok: false, reason: "not_held" };
    const { [call.token]: _released, ...rest } = state.permits;
    this.#store({ limit: state.limit, permits: rest });
    this.settle(now);
    return { ok: true };
  }

  inspect(now: number): SemaphoreInspectAnswer {
    const state = this.settle(now);
    const waiting = this.#queue.size;
    if (!state) return { limit: null, permits: [], waiting };
    const permits = Object.values(state.permits)
      .map(({ fence, expiresAt, owner }) => (owner === undefined ? { fence, expiresAt } : { fence, expiresAt, owner }))
      .sort((a, b) => a.fence - b.fence);
    return { limit: state.limit, permits, waiting };
  }

  /** Withdraw a queued acquire of `token`; whether there was one. */
  cancel(token: string): boolean {
    const waiter = this.#queue.take(token);
    waiter?.answer({ ok: false, reason: "cancelled" });
    return waiter !== undefined;
  }

  /** A queued wait of `token` ran out: answer it `held`, unless a permit is free for it now. */
  deadline(token: string, now: number): void {
    this.settle(now);
    const waiter = this.#queue.take(token);
    if (waiter)
      waiter.answer({ ok: false, reason: "held", retryAfterMs: Math.max(1, (this.nextExpiry() ?? now + 1) - now) });
  }

  /** Drop expired permits and grant free ones to the oldest waiters; the live state, or `undefined` when none is live. */
  settle(now: number): Stored | undefined {
    const stored = this.#kv.get<Stored>(SEMAPHORE_KEY);
    let state: Stored | undefined;
    if (stored) {
      const permits = Object.fromEntries(Object.entries(stored.permits).filter(([, permit]) => permit.expiresAt > now));
      state = { limit: stored.limit, permits };
    }
    while (state && Object.keys(state.permits).length < state.limit) {
      const waiter = this.#queue.shift();
      if (!waiter) break;
      const permit = this.#newPermit(waiter, now);
      const granted = this.#write(state, waiter.token, permit, waiter.ttlMs);
      state = { limit: state.limit, permits: { ...state.permits, [waiter.token]: permit } };
      waiter.answer({ ...granted, waitedMs: now - waiter.queuedAt });
    }
    if (!state || Object.keys(state.permits).length === 0) {
      this.#kv.delete(SEMAPHORE_KEY);
      return undefined;
    }
    if (stored && Object.keys(stored.permits).length !== Object.keys(state.permits).length) this.#store(state);
    return state;
  }

  /** When the earliest live permit expires: the object's alarm wakes then to hand it on. */
  nextExpiry(): number | undefined {
    const stored = this.#kv.get<Stored>(SEMAPHORE_KEY);
    if (!stored) return undefined;
    const expiries = Object.values(stored.permits).map((permit) => permit.expiresAt);
    return expiries.length > 0 ? Math.min(...expiries) : undefined;
  }

  #newPermit(call: { ttlMs: number; owner?: string | undefined }, now: number): Permit {
    const fence = (this.#kv.get<number>(SEMAPHORE_FENCE_KEY) ?? 0) + 1;
    return { fence, expiresAt: now + call.ttlMs, ...(call.owner === undefined ? {} : { owner: call.owner }) };
  }

  #write(state: Stored, token: string, permit: Permit, ttlMs: number): GrantAnswer {
    // Both writes land in one implicit transaction: no await in between.
    this.#kv.put(SEMAPHORE_FENCE_KEY, Math.max(permit.fence, this.#kv.get<number>(SEMAPHORE_FENCE_KEY) ?? 0));
    this.#store({ limit: state.limit, permits: { ...state.permits, [token]: permit } });
    return { ok: true, fence: permit.fence, ttlMs, expiresAt: permit.expiresAt };
  }

  #store(state: Stored): void {
    this.#kv.put(SEMAPHORE_KEY, state);
  }
}

function ownPermit(state: Stored, token: string): Permit | undefined {
  return Object.hasOwn(state.permits, token) ? state.permits[token] : undefined;
}
