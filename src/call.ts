import { BackendError, fetchFailure } from "./errors.js";
import { abortError, backoffDelay, sleep } from "./timing.js";

/** Limits of one adapter operation. */
export interface CallLimits {
  /**
   * Time limit of one attempt, ms, read as each attempt starts (a waiting
   * acquire's attempt is as long as the wait it asks for, which shrinks).
   */
  readonly attemptMs: number | (() => number);
  /** Retries after a retryable backend failure. */
  readonly retries: number;
  /** Epoch ms by which the whole operation ends, retries included; `Infinity` for none. */
  readonly endsAt: number;
}

/**
 * Run one adapter operation: a per-attempt timeout, an end for the whole
 * operation, prompt cancellation by `userSignal`, and retries with the same
 * arguments (so the same owner token) after a retryable backend failure,
 * including ones that may have been applied. A timed-out attempt counts as
 * possibly applied. No attempt and no backoff runs past `endsAt`.
 */
export async function callWithRetries<T>(
  operation: (signal: AbortSignal) => Promise<T>,
  limits: CallLimits,
  userSignal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (userSignal?.aborted) throw abortError(userSignal);
    const planned = typeof limits.attemptMs === "number" ? limits.attemptMs : limits.attemptMs();
    const left = limits.endsAt - Date.now();
    const timeoutMs = Math.max(1, Math.ceil(Math.min(planned, left)));
    const cut = left < planned;
    const limit = new AttemptLimit(timeoutMs, userSignal);
    try {
      return await untilAborted(operation(limit.signal), limit.signal);
    } catch (cause) {
      if (userSignal?.aborted) throw abortError(userSignal);
      const error = limit.timedOut
        ? new BackendError(
            cut
              ? `backend request cut off after ${timeoutMs} ms by the operation's time limit`
              : `backend request timed out after ${timeoutMs} ms`,
            { cause, maybeApplied: true },
          )
        : fetchFailure(cause, "backend request");
      if (!(error instanceof BackendError) || !error.retryable || attempt >= limits.retries) throw error;
      const delay = backoffDelay(attempt, { baseMs: 50, maxMs: 500 });
      if (Date.now() + delay >= limits.endsAt) throw error;
      await sleep(delay, userSignal);
    } finally {
      limit.done();
    }
  }
}

/**
 * The signal of one attempt: aborts after `ms` or when the caller's signal
 * does. One controller and one timer, cleared when the attempt settles:
 * cheaper than `AbortSignal.timeout` plus `AbortSignal.any`, which keep
 * their timer and weak references alive after the attempt.
 */
class AttemptLimit {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  readonly #userSignal: AbortSignal | undefined;
  readonly #onUserAbort: (() => void) | undefined;
  timedOut = false;

  constructor(ms: number, userSignal: AbortSignal | undefined) {
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.#controller.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError"));
    }, ms);
    if (userSignal) {
      this.#userSignal = userSignal;
      this.#onUserAbort = () => this.#controller.abort(userSignal.reason);
      userSignal.addEventListener("abort", this.#onUserAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  done(): void {
    clearTimeout(this.#timer);
    if (this.#onUserAbort) this.#userSignal?.removeEventListener("abort", this.#onUserAbort);
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
