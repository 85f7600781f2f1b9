import type { SyncKvStorage } from "cloudflare:workers";
import { WaitQueue } from "../../src/internal/wait-queue.js";
import { VALUE_KEY } from "./guarded-value.js";
import type {
  AcquireAnswer,
  AcquireCall,
  ExtendAnswer,
  ExtendCall,
  GrantAnswer,
  ReleaseAnswer,
  TokenCall,
} from "./protocol.js";
import { SEMAPHORE_KEY } from "./semaphore-table.js";

/** Storage key of the fence counter: written on every grant, never deleted. */
const FENCE_KEY = "fence";
/** Storage key of the current holder. */
const HOLDER_KEY = "holder";

export interface Holder {
  readonly token: string;
  readonly fence: number;
  readonly expiresAt: number;
  readonly owner?: string;
}

/**
 * The lock inside its object: the holder in storage and the acquires queued
 * for it. Calls run one at a time (the object is single-threaded and nothing
 * here awaits), so each is atomic.
 */
export class LockTable {
  readonly #kv: SyncKvStorage;
  readonly #queue = new WaitQueue<AcquireAnswer>();
  readonly #maxWaiters: number;

  constructor(kv: SyncKvStorage, maxWaiters: number) {
    this.#kv = kv;
    this.#maxWaiters = maxWaiters;
  }

  /** How many acquires are queued. */
  get waiting(): number {
    return this.#queue.size;
  }

  /**
   * Answer at once, or (with `waitMs`, while held) a promise answered when the
   * lock frees or the wait ends. `onDeadline` runs when a queued wait ends.
   */
  acquire(
    call: AcquireCall,
    now: number,
    onDeadline: (token: string) => void,
    signal: AbortSignal | undefined,
  ): AcquireAnswer | Promise<AcquireAnswer> {
    const { token, ttlMs, owner } = call;
    const waitMs = call.waitMs ?? 0;
    // A retry of a queued acquire (its first call lost) takes over the old
    // place: the old call's caller is gone or will ignore the answer.
    const previous = this.#queue.take(token);
    previous?.answer({ ok: false, reason: "cancelled" });
    const holder = this.settle(now);
    if (holder?.token === token) {
      // The holder's own retry: same fence, and the TTL counts from now so the
      // caller's deadline (from when it sent the retry) stays conservative.
      return this.#grant({ ...holder, expiresAt: now + ttlMs }, ttlMs);
    }
    if (!holder) return this.#grant(this.#newHolder(token, ttlMs, owner, now), ttlMs);
    if (waitMs > 0 && signal?.aborted) {
      // The caller gave up while the body was read: queueing it now would
      // hand the lock to a request nobody waits for (its abort event is past).
      return { ok: false, reason: "cancelled" };
    }
    if (waitMs > 0 && this.#queue.size < this.#maxWaiters) {
      return new Promise<AcquireAnswer>((answerWaiter) => {
        const waiter = { token, ttlMs, owner, queuedAt: now, deadline: now + waitMs, answer: answerWaiter };
        this.#queue.push(waiter, now, onDeadline);
        // The caller went away: leave the queue, so the lock is never handed
        // to a request nobody is waiting for.
        signal?.addEventListener("abort", () => {
          if (this.#queue.remove(waiter)) waiter.answer({ ok: false, reason: "cancelled" });
        });
      });
    }
    return { ok: false, reason: "held", retryAfterMs: Math.max(1, holder.expiresAt - now) };
  }

  extend(call: ExtendCall, now: number): ExtendAnswer {
    const holder = this.settle(now);
    if (holder?.token === call.token) return this.#grant({ ...holder, expiresAt: now + call.ttlMs }, call.ttlMs);
    return { ok: false, reason: "not_held" };
  }

  release(call: TokenCall, now: number): ReleaseAnswer {
    // A release also withdraws a queued acquire of the same token: the lock
    // client releases after it gave up on an acquire, and the waiter must not
    // be granted afterwards.
    this.#queue.take(call.token)?.answer({ ok: false, reason: "cancelled" });
    const holder = this.settle(now);
    if (holder?.token !== call.token) return { ok: false, reason: "not_held" };
    this.#kv.delete(HOLDER_KEY);
    this.settle(now);
    return { ok: true };
  }

  /** Free the holder with `fence`, whatever its token (the fence counter stays); the next waiter is granted. */
  forceRelease(fence: number, now: number): ReleaseAnswer {
    const holder = this.settle(now);
    if (holder?.fence !== fence) return { ok: false, reason: "not_held" };
    this.#kv.delete(HOLDER_KEY);
    this.settle(now);
    return { ok: true };
  }

  /** Withdraw a queued acquire of `token`; whether there was one. Never touches a holder. */
  cancel(token: string): boolean {
    const waiter = this.#queue.take(token);
    waiter?.answer({ ok: false, reason: "cancelled" });
    return waiter !== undefined;
  }

  /** A queued wait of `token` ran out: answer it `held`, unless the lock is free for it now. */
  deadline(token: string, now: number): void {
    // The holder may have expired at this very moment: settle first, so the
    // waiter is granted rather than refused if the lock is free.
    const holder = this.settle(now);
    const waiter = this.#queue.take(token);
    if (waiter) {
      const retryAfterMs = holder ? Math.max(1, holder.expiresAt - now) : 1;
      waiter.answer({ ok: false, reason: "held", retryAfterMs });
    }
  }

  /**
   * Bring the state up to `now`: drop an expired holder, and while the lock is
   * free hand it to the oldest waiter. Afterwards the lock is free only if
   * nobody is queued. Synchronous, so no other call interleaves.
   */
  settle(now: number): Holder | undefined {
    let holder = this.#kv.get<Holder>(HOLDER_KEY);
    if (holder && holder.expiresAt <= now) {
      this.#kv.delete(HOLDER_KEY);
      holder = undefined;
    }
    while (!holder) {
      const waiter = this.#queue.shift();
      if (!waiter) break;
      holder = this.#newHolder(waiter.token, waiter.ttlMs, waiter.owner, now);
      waiter.answer({ ...this.#grant(holder, waiter.ttlMs), waitedMs: now - waiter.queuedAt });
    }
    if (!holder) this.#clearIdle();
    return holder;
  }

  /** When the stored holder expires: the object's alarm wakes then to hand the lock on. */
  nextExpiry(): number | undefined {
    return this.#kv.get<Holder>(HOLDER_KEY)?.expiresAt;
  }

  #newHolder(token: string, ttlMs: number, owner: string | undefined, now: number): Holder {
    const fence = (this.#kv.get<number>(FENCE_KEY) ?? 0) + 1;
    return { token, fence, expiresAt: now + ttlMs, ...(owner === undefined ? {} : { owner }) };
  }

  #grant(holder: Holder, ttlMs: number): GrantAnswer {
    // Both writes land in one implicit transaction: no await in between.
    this.#kv.put(FENCE_KEY, holder.fence);
    this.#kv.put(HOLDER_KEY, holder);
    return { ok: true, fence: holder.fence, ttlMs, expiresAt: holder.expiresAt };
  }

  /** Delete everything but the fence counter and the guarded value, which outlive the lock. */
  #clearIdle(): void {
    // Semaphore state (`sem…`) is the semaphore table's to clear.
    for (const [key] of this.#kv.list()) {
      if (key !== FENCE_KEY && key !== VALUE_KEY && !key.startsWith(SEMAPHORE_KEY)) this.#kv.delete(key);
    }
  }
}
