import { LockAbortedError } from "../src/errors.js";
import { sleepBetweenPolls } from "../src/poll-sleep.js";
import { pollDelay, sleep } from "../src/timing.js";
import type { AdapterAcquireRequest, AdapterAcquireResult, AdapterRefusal, LockAdapter } from "../src/types.js";
import type { WaiterCap } from "./waiter-cap.js";

/**
 * Server-side polling cadence for adapters that cannot push wake-ups. The
 * floor bounds how often one waiter reaches the backend (at most 10 attempts
 * a second), so a crowd of waiters on one key costs the backend's owner a
 * known number of requests; the ceiling bounds how late a waiter notices a
 * freed lock.
 */
export const POLL = { minMs: 100, baseMs: 100, maxMs: 500 } as const;

/**
 * Longest one sleep through an adapter's `pollWait` (which may last until the
 * lock frees): a wait withdrawn meanwhile is noticed when the sleep ends, and
 * holds its place under the waiter cap until then.
 */
export const ADAPTER_SLEEP_MAX_MS = 1_000;

/** One waiting acquire, as {@link Waiters} tracks it. */
export interface Wait {
  /** Set by a release with the same token: the waiter must not end up holding the lock. */
  withdrawn: boolean;
}

/**
 * Acquire, waiting up to `request.waitMs` on the service's side. Push
 * adapters wait inside the backend and are woken on release (and are
 * polled for the rest of the wait when they answer early); others are
 * polled (at least {@link POLL}`.minMs` apart), sleeping in between through
 * the adapter's `pollWait` where it has one, else with jittered backoff,
 * never past the holder's expiry or the deadline. The same token is used
 * throughout, so a grant from any attempt is the caller's.
 *
 * When the caller goes away (`signal` aborts) the wait stops: no further
 * attempts, and nothing is released, because the caller may be retrying
 * with the same token and that retry may already hold the lock. When a
 * release with the same token withdrew the wait (`wait.withdrawn`), the
 * caller gave the token up: a grant that raced the release is given back.
 */
export async function acquireWithWait(
  adapter: LockAdapter,
  request: AdapterAcquireRequest & { readonly signal: AbortSignal },
  wait: Wait = { withdrawn: false },
): Promise<AdapterAcquireResult> {
  const waitMs = request.waitMs ?? 0;
  const push = adapter.capabilities.pushWakeups;
  if (waitMs === 0) {
    const result = await adapter.acquire({ ...request, waitMs: 0 });
    return wait.withdrawn ? giveBack(adapter, request, result) : result;
  }
  const received = Date.now();
  const deadline = received + waitMs;
  for (let poll = 0; ; poll++) {
    const sentAt = Date.now();
    // A push adapter waits inside the backend for what is left, but may
    // answer early (Upstash with no waiting slot free): then it is polled
    // like the others until the deadline.
    const result = await adapter.acquire({ ...request, waitMs: push ? Math.max(1, deadline - sentAt) : 0 });
    if (wait.withdrawn) return giveBack(adapter, request, result);
    // The TTL cannot have started before this attempt was sent.
    if (result.ok) return { ...result, waitedMs: sentAt - received + (result.waitedMs ?? 0) };
    const remaining = deadline - Date.now();
    if (remaining <= 0 || request.signal.aborted) return result;
    const delay = Math.max(POLL.minMs, pollDelay(poll, result.retryAfterMs, remaining, POLL));
    try {
      await pause(adapter, request, result, Math.min(delay, remaining), remaining);
      // An adapter's own sleep may end early (a wake-up): the floor still holds.
      await sleep(Math.min(sentAt + POLL.minMs, deadline) - Date.now(), request.signal);
    } catch (error) {
      // The caller hung up: it reads no answer, so the last refusal stands.
      if (error instanceof LockAbortedError) return result;
      throw error;
    }
    // Less than the poll floor was left: the deadline passed without another attempt.
    if (wait.withdrawn || delay > remaining) return result;
  }
}

/**
 * Sleep between two polls (src/poll-sleep.ts): through the adapter's own
 * `pollWait` where it has one, for at most {@link ADAPTER_SLEEP_MAX_MS},
 * else `delayMs`.
 */
function pause(
  adapter: LockAdapter,
  request: AdapterAcquireRequest & { readonly signal: AbortSignal },
  refusal: AdapterRefusal,
  delayMs: number,
  remainingMs: number,
): Promise<void> {
  const { key, token, signal } = request;
  const boundMs = adapter.pollWait ? Math.min(remainingMs, ADAPTER_SLEEP_MAX_MS) : remainingMs;
  const fallbackMs = Math.min(delayMs, boundMs);
  return sleepBetweenPolls(adapter, { key, token, refusal, fallbackMs, remainingMs: boundMs, signal });
}

/** A grant that raced a release with the same token goes back at once; the caller hears `held`. */
async function giveBack(
  adapter: LockAdapter,
  request: AdapterAcquireRequest,
  result: AdapterAcquireResult,
): Promise<AdapterAcquireResult> {
  if (!result.ok) return result;
  await adapter.release({ key: request.key, token: request.token });
  return { ok: false, reason: "held" };
}

/**
 * Acquires waiting in this instance, by key and token, so that a release
 * with the same token withdraws them: a caller that gave up (and released,
 * as the lock client does after an abort) must not be granted the lock
 * afterwards by a wait it abandoned. Several waits may share a token (a
 * client's retry while its first request still waits); a release withdraws
 * them all.
 *
 * Withdrawing only marks the waits: each one notices in its own request
 * (after its current backend attempt or sleep), because Workers forbid one
 * request to abort I/O that belongs to another.
 */
export class Waiters {
  readonly #waiting = new Map<string, Set<Wait>>();

  /** Run `acquire` as a withdrawable wait. */
  async run<T>(key: string, token: string, acquire: (wait: Wait) => Promise<T>): Promise<T> {
    const id = `${token}\u0000${key}`;
    const wait: Wait = { withdrawn: false };
    const waits = this.#waiting.get(id) ?? new Set<Wait>();
    this.#waiting.set(id, waits);
    waits.add(wait);
    try {
      return await acquire(wait);
    } finally {
      waits.delete(wait);
      if (waits.size === 0 && this.#waiting.get(id) === waits) this.#waiting.delete(id);
    }
  }

  /** Withdraw every wait of `token` on `key`; how many there were. */
  withdraw(key: string, token: string): number {
    const waits = this.#waiting.get(`${token}\u0000${key}`);
    if (!waits) return 0;
    for (const wait of waits) wait.withdrawn = true;
    return waits.size;
  }
}

/** The 429 body for an acquire refused by a {@link WaiterCap}; answered with `Retry-After: 1`. */
export const TOO_MANY_WAITERS = {
  error: "too_many_waiters",
  message: "too many acquires are waiting; retry later or without waitMs",
} as const;

/** What {@link acquireWithinCap} runs under: the service's waits and its cap on them. */
export interface WaitPlace {
  readonly waiters: Waiters;
  readonly cap: WaiterCap;
  /** Whose cap the wait counts against. */
  readonly tenant: string;
  /** Where a release with the same token withdraws the wait (locks and semaphores keep apart). */
  readonly waitKey: string;
}

/**
 * One acquire as the lock and semaphore routes run it: a waiting one
 * (`waitMs > 0`) takes a place under the cap and gives it back when it ends;
 * `undefined` when a cap is reached, before any backend request. The wait is
 * withdrawable (see {@link Waiters}).
 */
export async function acquireWithinCap(
  place: WaitPlace,
  adapter: LockAdapter,
  request: AdapterAcquireRequest & { readonly signal: AbortSignal },
): Promise<AdapterAcquireResult | undefined> {
  const leave = (request.waitMs ?? 0) > 0 ? place.cap.enter(place.tenant) : () => undefined;
  if (!leave) return undefined;
  try {
    return await place.waiters.run(place.waitKey, request.token, (wait) => acquireWithWait(adapter, request, wait));
  } finally {
    leave();
  }
}
