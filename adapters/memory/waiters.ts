import { LockAbortedError } from "../../src/errors.js";
import { type Waiter, WaitQueue } from "../../src/internal/wait-queue.js";
import type { AdapterAcquireResult } from "../../src/types.js";

/** What a queued acquire is answered with: a grant, a refusal, or its caller's abort. */
type Answer = AdapterAcquireResult | LockAbortedError;

/** A queued acquire, as the adapter grants it. */
export type MemoryWaiter = Waiter<Answer>;

/** One held key's queue, and the timer that hands the key on at its holder's expiry. */
interface KeyQueue {
  readonly queue: WaitQueue<Answer>;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** When `timer` fires, on the adapter's clock. */
  at: number;
}

/** The state a queue needs from the adapter: the live holder's expiry after settling the key. */
export type Settle = (key: string) => { readonly expiresAt: number } | undefined;

/**
 * Acquires waiting in memory for held keys, first come first served per
 * key, as the Durable Object queues them: a release, a break or the
 * holder's expiry hands the key straight to the oldest waiter (the
 * adapter's `settle`), so no waiter polls and nobody barges past the queue.
 * Waiters leave the queue at their deadline (answered `held`), when their
 * caller aborts (rejected with {@link LockAbortedError}), or when a call
 * with the same token (a retry or a release) takes their place.
 */
export class MemoryWaiters {
  readonly #keys = new Map<string, KeyQueue>();
  readonly #now: () => number;
  readonly #settle: Settle;

  constructor(now: () => number, settle: Settle) {
    this.#now = now;
    this.#settle = settle;
  }

  /** Queue an acquire of `key`, held until `holderExpiresAt`, for at most `waitMs`. */
  wait(
    key: string,
    call: { readonly token: string; readonly ttlMs: number; readonly owner: string | undefined },
    waitMs: number,
    holderExpiresAt: number,
    signal: AbortSignal | undefined,
  ): Promise<AdapterAcquireResult> {
    let entry = this.#keys.get(key);
    if (!entry) {
      entry = { queue: new WaitQueue<Answer>(), timer: undefined, at: Number.POSITIVE_INFINITY };
      this.#keys.set(key, entry);
    }
    const { queue } = entry;
    const now = this.#now();
    return new Promise<AdapterAcquireResult>((resolve, reject) => {
      const onAbort = () => {
        if (queue.remove(waiter)) {
          waiter.answer(new LockAbortedError("acquire withdrawn from the queue", { cause: signal?.reason }));
          this.#tidy(key);
        }
      };
      const waiter: MemoryWaiter = {
        ...call,
        queuedAt: now,
        deadline: now + waitMs,
        answer: (answer) => {
          signal?.removeEventListener("abort", onAbort);
          if (answer instanceof LockAbortedError) reject(answer);
          else resolve(answer);
        },
      };
      queue.push(waiter, now, (token) => this.#onDeadline(key, token));
      signal?.addEventListener("abort", onAbort, { once: true });
      this.arm(key, holderExpiresAt);
    });
  }

  /** The oldest waiter for `key`, taken out of the queue. */
  shift(key: string): MemoryWaiter | undefined {
    const waiter = this.#keys.get(key)?.queue.shift();
    this.#tidy(key);
    return waiter;
  }

  /** Answer `held` to the queued acquire of `token`, if any: a newer call with that token replaces it. */
  withdraw(key: string, token: string): void {
    const entry = this.#keys.get(key);
    if (!entry) return;
    entry.queue.take(token)?.answer({ ok: false, reason: "held" });
    this.#tidy(key);
  }

  /** Hand `key` on no later than `expiresAt` (its holder's expiry), while anyone waits for it. */
  arm(key: string, expiresAt: number): void {
    const entry = this.#keys.get(key);
    if (!entry || entry.at <= expiresAt) return;
    clearTimeout(entry.timer);
    entry.at = expiresAt;
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined;
        entry.at = Number.POSITIVE_INFINITY;
        // Settling grants the oldest waiter if the holder is gone; a holder
        // that extended meanwhile is still there: wait for its new expiry.
        const holder = this.#settle(key);
        if (holder) this.arm(key, holder.expiresAt);
      },
      Math.max(0, expiresAt - this.#now()),
    );
  }

  #onDeadline(key: string, token: string): void {
    // The holder may have expired at this very moment: settle first, so the
    // waiter is granted rather than refused if the lock is free.
    const holder = this.#settle(key);
    const waiter = this.#keys.get(key)?.queue.take(token);
    if (waiter) {
      const retryAfterMs = holder ? Math.max(1, holder.expiresAt - this.#now()) : 1;
      waiter.answer({ ok: false, reason: "held", retryAfterMs });
    }
    this.#tidy(key);
  }

  /** Forget a key nobody waits for, timer included. */
  #tidy(key: string): void {
    const entry = this.#keys.get(key);
    if (!entry || entry.queue.size > 0) return;
    clearTimeout(entry.timer);
    this.#keys.delete(key);
  }
}
