import { LockAbortedError } from "../src/errors.js";
import { pollDelay, sleep } from "../src/timing.js";
import type { AdapterAcquireRequest, AdapterAcquireResult, LockAdapter } from "../src/types.js";

/** Server-side polling cadence for adapters that cannot push wake-ups: close to the backend, so short. */
const POLL = { baseMs: 10, maxMs: 200 } as const;

/** An acquire outcome with how long the service queued it before the granting attempt. */
export type WaitedResult = AdapterAcquireResult & { readonly waitedMs?: number | undefined };

/**
 * Acquire, waiting up to `request.waitMs` on the service's side. Push
 * adapters wait inside the backend and are woken on release; others are
 * polled with jittered backoff, never past the holder's expiry or the
 * deadline. The same token is used throughout, so a grant from any attempt
 * is the caller's.
 *
 * When the caller goes away (`signal` aborts) the wait stops: no further
 * attempts, and nothing is released, because the caller may be retrying
 * with the same token and that retry may already hold the lock.
 */
export async function acquireWithWait(
  adapter: LockAdapter,
  request: AdapterAcquireRequest & { readonly signal: AbortSignal },
): Promise<WaitedResult> {
  const waitMs = request.waitMs ?? 0;
  if (adapter.capabilities.pushWakeups || waitMs === 0) {
    return adapter.acquire(adapter.capabilities.pushWakeups ? request : { ...request, waitMs: 0 });
  }
  const received = Date.now();
  const deadline = received + waitMs;
  for (let poll = 0; ; poll++) {
    const sentAt = Date.now();
    const result = await adapter.acquire({ ...request, waitMs: 0 });
    // The TTL cannot have started before this attempt was sent.
    if (result.ok) return { ...result, waitedMs: sentAt - received + (result.waitedMs ?? 0) };
    const remaining = deadline - Date.now();
    if (remaining <= 0 || request.signal.aborted) return result;
    try {
      await sleep(pollDelay(poll, result.retryAfterMs, remaining, POLL), request.signal);
    } catch (error) {
      // The caller hung up: it reads no answer, so the last refusal stands.
      if (error instanceof LockAbortedError) return result;
      throw error;
    }
  }
}

/**
 * Acquires waiting in this instance, by key and token, so that a release
 * with the same token withdraws them: a caller that gave up (and released,
 * as the lock client does after an abort) must not be granted the lock
 * afterwards by a wait it abandoned. Platforms that report disconnects
 * through the request's signal stop the wait earlier still.
 */
export class Waiters {
  readonly #waiting = new Map<string, { controller: AbortController; settled: Promise<unknown> }>();

  /** Run `acquire` as a withdrawable wait; its signal aborts on `signal` or on {@link withdraw}. */
  async run<T>(key: string, token: string, signal: AbortSignal, acquire: (signal: AbortSignal) => Promise<T>) {
    const id = `${token}\u0000${key}`;
    const controller = new AbortController();
    const promise = acquire(AbortSignal.any([signal, controller.signal]));
    const entry = { controller, settled: promise.catch(() => undefined) };
    this.#waiting.set(id, entry);
    try {
      return await promise;
    } finally {
      if (this.#waiting.get(id) === entry) this.#waiting.delete(id);
    }
  }

  /** Withdraw the wait of `token` on `key`, if any, and resolve once it has settled. */
  async withdraw(key: string, token: string): Promise<void> {
    const entry = this.#waiting.get(`${token}\u0000${key}`);
    if (!entry) return;
    entry.controller.abort(new Error("withdrawn by a release with the same token"));
    await entry.settled;
  }
}
