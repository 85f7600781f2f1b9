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
  /**
   * When `userSignal` aborts, answer the caller at once but let the attempt
   * in flight run on to its own time limit instead of aborting it, so its
   * answer (a grant to give back, or a refusal) is still learnt. For short
   * requests whose abort would not stop the backend from applying them; not
   * for a server-side wait, whose abort is what withdraws it.
   */
  readonly detachOnAbort?: boolean;
}

/**
 * Run one adapter operation: a per-attempt timeout, an end for the whole
 * operation, prompt cancellation by `userSignal`, and retries with the same
 * arguments (so the same owner token) after a retryable backend failure,
 * including ones that may have been applied. A timed-out attempt counts as
 * possibly applied. No attempt and no backoff runs past `endsAt`.
 */
export async function callWithRetries<T>(
  operation: (attempt: AttemptSignal) => Promise<T>,
  limits: CallLimits,
  userSignal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (userSignal?.aborted) throw abortError(userSignal);
    const planned = typeof limits.attemptMs === "number" ? limits.attemptMs : limits.attemptMs();
    const left = limits.endsAt - Date.now();
    const timeoutMs = Math.max(1, Math.ceil(Math.min(planned, left)));
    const cut = left < planned;
    const limit = new AttemptLimit(timeoutMs, userSignal, limits.detachOnAbort === true);
    try {
      const value = await limit.run(operation);
      limit.finish();
      return value;
    } catch (cause) {
      limit.finish();
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
    }
  }
}

/** What an operation gets for one attempt: the signal to pass on, made only when read. */
export interface AttemptSignal {
  readonly signal: AbortSignal;
}

// Attempts whose timers are not armed yet. Arming waits for the next
// macrotask (one shared timer for all of them): an in-memory adapter has
// settled by then, anything doing I/O has not and gets a timer for the time
// that is left. Settled attempts are pruned when the list grows, so a loop
// that never yields keeps it short.
let unarmed: AttemptLimit[] = [];
let armScheduled = false;
const PRUNE_AT = 256;

function armLater(limit: AttemptLimit): void {
  if (unarmed.length >= PRUNE_AT) {
    unarmed = unarmed.filter((waiting) => !waiting.settled);
    // Still long: these are genuinely pending, arm them now.
    if (unarmed.length >= PRUNE_AT) armAll();
  }
  unarmed.push(limit);
  if (!armScheduled) {
    armScheduled = true;
    setTimeout(armAll, 0);
  }
}

function armAll(): void {
  armScheduled = false;
  const waiting = unarmed;
  unarmed = [];
  for (const limit of waiting) limit.arm();
}

/**
 * The limit of one attempt: settles the attempt with a rejection after `ms`
 * or when the caller's signal aborts, even if the adapter ignores its
 * signal, so callers are never held hostage by a hung request (the
 * abandoned request's outcome no longer matters; the owner token resolves
 * it). Cheap when nothing goes wrong: the controller is made only if the
 * adapter reads the signal, and the timer only if the operation has not
 * settled by the next macrotask (it then gets the time that is left).
 * `AbortSignal.timeout` plus `AbortSignal.any` per attempt cost several
 * times the whole in-memory operation.
 */
class AttemptLimit implements AttemptSignal {
  readonly #ms: number;
  readonly #started = Date.now();
  readonly #userSignal: AbortSignal | undefined;
  readonly #detach: boolean;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onUserAbort: (() => void) | undefined;
  #reject: ((reason: unknown) => void) | undefined;
  /** No timer is needed any more: the operation settled, or was aborted. */
  settled = false;
  #reason: unknown;
  timedOut = false;
  /** The caller gave up, the operation runs on (see {@link CallLimits.detachOnAbort}). */
  #detached = false;

  constructor(ms: number, userSignal: AbortSignal | undefined, detach: boolean) {
    this.#ms = ms;
    this.#userSignal = userSignal;
    this.#detach = detach;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /**
   * The attempt's answer, or its limit's rejection, whichever comes first.
   * The caller calls {@link finish} once it has it.
   */
  run<T>(operation: (attempt: AttemptSignal) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#reject = reject;
      const userSignal = this.#userSignal;
      if (userSignal) {
        this.#onUserAbort = () => this.#userAbort(userSignal.reason);
        userSignal.addEventListener("abort", this.#onUserAbort, { once: true });
      }
      // A synchronous throw rejects the promise, as a rejection would.
      operation(this).then(
        (value) => {
          this.#operationSettled();
          resolve(value);
        },
        (error: unknown) => {
          this.#operationSettled();
          reject(error);
        },
      );
      armLater(this);
    });
  }

  arm(): void {
    if (this.settled || this.#timer !== undefined) return;
    this.#timer = setTimeout(
      () => {
        this.timedOut = true;
        this.#abort(new DOMException(`timed out after ${this.#ms} ms`, "TimeoutError"));
      },
      Math.max(0, this.#ms - (Date.now() - this.#started)),
    );
  }

  #userAbort(reason: unknown): void {
    if (this.settled) return;
    if (!this.#detach) {
      this.#abort(reason);
      return;
    }
    this.#detached = true;
    this.#removeUserListener();
    this.#reject?.(reason);
  }

  #abort(reason: unknown): void {
    if (this.settled) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#detached = false;
    this.finish();
    // A no-op if the operation settled first (its answer stands).
    this.#reject?.(reason);
  }

  #operationSettled(): void {
    if (this.#detached) {
      this.#detached = false;
      this.finish();
    }
  }

  /** Done with the attempt; a detached one keeps its timer until it settles. */
  finish(): void {
    this.#removeUserListener();
    if (this.#detached) return;
    this.settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  #removeUserListener(): void {
    if (this.#onUserAbort) this.#userSignal?.removeEventListener("abort", this.#onUserAbort);
  }
}
