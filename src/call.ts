import { BackendError, fetchFailure } from "./errors.js";
import { abortError, backoffDelay, sleep, withTimeout } from "./timing.js";

/** Limits of one adapter operation. */
export interface CallLimits {
  /** Time limit of one attempt, ms. */
  readonly timeoutMs: number;
  /** Retries after a retryable backend failure. */
  readonly retries: number;
}

/**
 * Run one adapter operation: a per-attempt timeout, prompt cancellation by
 * `userSignal`, and retries with the same arguments (so the same owner
 * token) after a retryable backend failure, including ones that may have
 * been applied. A timed-out attempt counts as possibly applied.
 */
export async function callWithRetries<T>(
  operation: (signal: AbortSignal) => Promise<T>,
  limits: CallLimits,
  userSignal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (userSignal?.aborted) throw abortError(userSignal);
    const signal = withTimeout(userSignal, limits.timeoutMs);
    try {
      return await untilAborted(operation(signal), signal);
    } catch (cause) {
      if (userSignal?.aborted) throw abortError(userSignal);
      const error = signal.aborted
        ? new BackendError(`backend request timed out after ${limits.timeoutMs} ms`, { cause, maybeApplied: true })
        : fetchFailure(cause, "backend request");
      if (!(error instanceof BackendError) || !error.retryable || attempt >= limits.retries) throw error;
      await sleep(backoffDelay(attempt, { baseMs: 50, maxMs: 500 }), userSignal);
    }
  }
}

/**
 * Settle with `promise`, or reject as soon as `signal` aborts even if the
 * adapter ignores the signal: callers are never held hostage by a hung
 * request. The abandoned promise's outcome no longer matters; the owner
 * token resolves it.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
