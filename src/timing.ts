import { LockAbortedError } from "./errors.js";

/** Resolve after `ms`, or reject with {@link LockAbortedError} as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function abortError(signal: AbortSignal): LockAbortedError {
  return new LockAbortedError("operation aborted by the caller's signal", { cause: signal.reason });
}

/** Settings of the exponential backoff with full jitter used while waiting for a lock. */
export interface BackoffOptions {
  /** First delay ceiling, ms. Default 25. */
  readonly baseMs?: number;
  /** Largest delay, ms. Default 1000. */
  readonly maxMs?: number;
}

/**
 * Full-jitter backoff: a uniform delay in `[1, min(max, base·2^attempt)]`.
 * Jitter spreads contenders that were refused together, so they do not
 * return in lockstep.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 25;
  const max = options.maxMs ?? 1000;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.floor(Math.random() * ceiling));
}

/**
 * How long to sleep after a refused attempt while waiting for a lock: back
 * off with jitter, but wake no later than the holder's expiry when the
 * backend says when that is, and never past the wait's deadline.
 */
export function pollDelay(
  poll: number,
  retryAfterMs: number | undefined,
  remainingMs: number,
  options?: BackoffOptions,
): number {
  let delay = backoffDelay(poll, options);
  if (retryAfterMs !== undefined) delay = Math.min(delay, Math.max(1, retryAfterMs));
  return Math.min(delay, remainingMs);
}
