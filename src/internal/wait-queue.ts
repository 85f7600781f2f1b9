/**
 * The FIFO of acquires waiting for one lock where the lock lives (a Durable
 * Object, the memory adapter). It lives in memory: a waiter is a pending
 * call, which cannot outlive the process holding the lock anyway (in a
 * Durable Object its caller sees the call fail and retries with the same
 * token).
 *
 * @module
 */

/** One queued acquire. */
export interface Waiter<Answer> {
  readonly token: string;
  readonly ttlMs: number;
  readonly owner: string | undefined;
  /** Backend time the request was queued, epoch ms. */
  readonly queuedAt: number;
  /** Backend time the request stops waiting, epoch ms. */
  readonly deadline: number;
  /** Answers the pending call; called exactly once. */
  readonly answer: (answer: Answer) => void;
}

/**
 * Waiters in arrival order, indexed by token so that a cancel, a release or
 * a retry with the same token finds its waiter in O(1). A `Map` iterates in
 * insertion order, which is the FIFO order.
 */
export class WaitQueue<Answer> {
  readonly #waiters = new Map<string, { waiter: Waiter<Answer>; timer: ReturnType<typeof setTimeout> }>();

  get size(): number {
    return this.#waiters.size;
  }

  has(token: string): boolean {
    return this.#waiters.has(token);
  }

  /** Queue `waiter`; `onDeadline` runs when its wait runs out while still queued. */
  push(waiter: Waiter<Answer>, now: number, onDeadline: (token: string) => void): void {
    const timer = setTimeout(() => onDeadline(waiter.token), Math.max(0, waiter.deadline - now));
    this.#waiters.set(waiter.token, { waiter, timer });
  }

  /** The oldest waiter, removed from the queue (its deadline timer cleared). */
  shift(): Waiter<Answer> | undefined {
    for (const token of this.#waiters.keys()) return this.take(token);
    return undefined;
  }

  /** Remove `waiter` if it is still the one queued for its token (a retry may have replaced it). */
  remove(waiter: Waiter<Answer>): boolean {
    if (this.#waiters.get(waiter.token)?.waiter !== waiter) return false;
    this.take(waiter.token);
    return true;
  }

  /** Remove the waiter of `token`, if queued, and hand it back to be answered. */
  take(token: string): Waiter<Answer> | undefined {
    const entry = this.#waiters.get(token);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.#waiters.delete(token);
    return entry.waiter;
  }
}
