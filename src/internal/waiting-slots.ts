/**
 * How many requests one adapter instance lets wait inside the backend at
 * once (Upstash's `BLPOP`, the service's waiting acquire).
 *
 * Why: a Worker invocation has six connections that may wait for response
 * headers at once; a seventh request is queued until one of them answers.
 * A request that waits holds its connection for its whole wait. Six waiters
 * in one invocation would therefore hold back everything else it sends,
 * among it the release that would wake them: each hand-off would then
 * take until a wait ran out or the holder expired. Keeping two connections
 * free for ordinary requests avoids that; a waiter that finds no slot asks
 * without waiting, and the lock client polls it with its backoff, bounded by
 * the holder's expiry.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.js";

/** Slots on Workers: two of the invocation's six connections stay free for everything else. */
export const WORKERS_WAITING_REQUESTS = 4;

/** Largest explicit setting: more would only mean "no limit". */
const MAX_SETTING = 1_000_000;

/**
 * The limit for `maxWaitingRequests`: the option when given (an integer
 * from 0, which never waits in a request), else 4 on Cloudflare Workers
 * (recognised by `navigator.userAgent`, as Cloudflare documents) and no
 * limit elsewhere, where `fetch` opens connections as needed.
 */
export function waitingRequestLimit(option: unknown): number {
  if (option === undefined) return onWorkers() ? WORKERS_WAITING_REQUESTS : Number.POSITIVE_INFINITY;
  if (typeof option !== "number" || !Number.isInteger(option) || option < 0 || option > MAX_SETTING) {
    throw new InvalidArgumentError(
      `maxWaitingRequests must be an integer from 0 to ${MAX_SETTING}, got ${String(option).slice(0, 40)}`,
    );
  }
  return option;
}

function onWorkers(): boolean {
  const agent = (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent;
  return agent === "Cloudflare-Workers";
}

/** A counter of waiting requests in flight: take a slot before one, give it back after. */
export class WaitingSlots {
  readonly limit: number;
  #free: number;

  constructor(limit: number) {
    this.limit = limit;
    this.#free = limit;
  }

  /** `true` (and the slot is yours until {@link give}) when a waiting request may be sent now. */
  take(): boolean {
    if (this.#free <= 0) return false;
    this.#free--;
    return true;
  }

  give(): void {
    this.#free++;
  }

  /**
   * Send with a slot when `wanted` and one is free (`send(true)`: the
   * request may wait), else at once without one (`send(false)`).
   */
  async send<T>(wanted: boolean, send: (waiting: boolean) => Promise<T>): Promise<T> {
    if (!wanted || !this.take()) return send(false);
    try {
      return await send(true);
    } finally {
      this.give();
    }
  }
}
