import { AcquireRequest } from "./adapter-requests.js";
import { type AttemptSignal, callWithRetries } from "./backend-call.js";
import { createElection, type Election } from "./election.js";
import { BackendError, InvalidArgumentError, LockAbortedError, LockTimeoutError } from "./errors.js";
import { acquireOutcome, EventTracker, NO_EVENTS, type OperationTracker } from "./event-tracker.js";
import { type ForceReleaseOptions, type ForceReleaseResult, forceRelease } from "./force-release.js";
import { giveBack, releaseQuietly } from "./give-back.js";
import { readValue, type ValueRead } from "./guarded-value.js";
import { redactToken } from "./internal/redact.js";
import type { Lease } from "./lease.js";
import { type LeaseContext, LeaseImpl } from "./lease-impl.js";
import { keepExtended } from "./lease-renewal.js";
import { LockerSettings } from "./locker-settings.js";
import type {
  AcquireOptions,
  CallOptions,
  Locker,
  LockerOptions,
  ResumeOptions,
  TryAcquireOptions,
  WithLockOptions,
  WithLockResult,
} from "./options.js";
import { sleepBetweenPolls } from "./poll-sleep.js";
import { resumeLease } from "./resume.js";
import { createSemaphore, type Semaphore, type SemaphoreOptions } from "./semaphore.js";
import { abortError, pollDelay } from "./timing.js";
import { newToken } from "./token.js";
import type { AdapterAcquireResult, AdapterCapabilities, LockAdapter, LockState } from "./types.js";
import {
  MAX_DURATION_MS,
  validateDuration,
  validateFlag,
  validateKey,
  validateOptions,
  validateOwner,
  validateSignal,
  validateTimeout,
} from "./validate.js";
import { withLock } from "./with-lock.js";

export type { AcquireOptions, Locker, LockerOptions, TryAcquireOptions } from "./options.js";

/**
 * Create a lock client over an adapter.
 *
 * @example
 * ```ts
 * import { createLocker, memoryAdapter } from "edgelock";
 * const locker = createLocker({ adapter: memoryAdapter(), namespace: "billing:" });
 * ```
 */
export function createLocker(options: LockerOptions): Locker {
  return new LockerImpl(options);
}

class LockerImpl implements Locker, LeaseContext {
  readonly adapter: LockAdapter;
  readonly capabilities: AdapterCapabilities;
  readonly marginMs: number;
  readonly maxTtlMs: number;
  readonly telemetry: EventTracker;
  readonly #settings: LockerSettings;
  readonly #options: LockerOptions;

  constructor(options: LockerOptions) {
    const checked = validateOptions("createLocker options", options as LockerOptions | undefined);
    const adapter = (checked as Partial<LockerOptions>).adapter;
    if (
      typeof adapter?.acquire !== "function" ||
      typeof adapter.extend !== "function" ||
      typeof adapter.release !== "function" ||
      typeof adapter.inspect !== "function" ||
      typeof adapter.capabilities !== "object" ||
      adapter.capabilities === null
    ) {
      throw new InvalidArgumentError("createLocker needs an adapter (acquire, extend, release, inspect, capabilities)");
    }
    this.adapter = adapter;
    this.capabilities = adapter.capabilities;
    this.marginMs = this.capabilities.clock === "client" ? this.capabilities.clockSkewMarginMs : 0;
    this.#settings = new LockerSettings(options, this.capabilities);
    this.maxTtlMs = this.#settings.maxTtlMs;
    this.telemetry = new EventTracker(this.#settings.onEvent, this.capabilities.name, (error) => this.report(error));
    this.#options = options;
  }

  semaphore(key: string, options: SemaphoreOptions): Semaphore {
    return createSemaphore(this.#options, createLocker, key, options);
  }

  election(key: string): Election {
    return createElection(this, key, (error) => this.report(error));
  }

  tryAcquire(key: string, options?: TryAcquireOptions): Promise<Lease | null> {
    try {
      const checked = validateOptions("tryAcquire options", options);
      const op = this.telemetry.start("acquire", key);
      const outcome = acquireOutcome(op);
      return op.settle(this.#acquire(key, checked, 0, false, op), outcome.done, outcome.failed);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async acquire(key: string, options?: AcquireOptions): Promise<Lease> {
    const checked = validateOptions("acquire options", options);
    const waitMs = validateDuration(
      "waitMs",
      checked.waitMs === undefined ? this.#settings.defaultWaitMs : checked.waitMs,
      0,
      MAX_DURATION_MS,
    );
    const op = this.telemetry.start("acquire", key);
    const outcome = acquireOutcome(op);
    return (await op.settle(this.#acquire(key, checked, waitMs, true, op), outcome.done, outcome.failed)) as Lease;
  }

  withLock<T>(
    key: string,
    fn: (lease: Lease) => Promise<T> | T,
    options?: WithLockOptions,
  ): Promise<WithLockResult<T>> {
    return withLock(this, key, fn, options);
  }

  async inspect(key: string, options?: CallOptions): Promise<LockState> {
    const checked = validateOptions("inspect options", options);
    const backendKey = this.#settings.namespace + validateKey(key);
    const signal = validateSignal(checked.signal);
    const endsAt = this.#settings.endsAt(Date.now(), validateTimeout(checked.timeoutMs));
    const op = this.telemetry.start("inspect", key);
    const state = this.call(
      op.wrap((attempt) =>
        this.adapter.inspect(backendKey, {
          get signal() {
            return attempt.signal;
          },
        }),
      ),
      signal,
      endsAt,
    );
    return op.settle(state, ({ held }) => ({ type: "inspected", held }));
  }

  async forceRelease(key: string, options?: ForceReleaseOptions): Promise<ForceReleaseResult> {
    const checked = validateOptions("forceRelease options", options);
    return forceRelease(this, key, this.#settings.namespace + validateKey(key), checked);
  }

  async resume(key: string, token: string, options?: ResumeOptions): Promise<Lease> {
    const checked = validateOptions("resume options", options);
    const { lease, autoExtend } = await resumeLease(this, this.#settings, key, token, checked);
    return this.#lease(lease, autoExtend);
  }

  /** Start the opt-in renewal of a new lease; it ends when the lease is released or lost. */
  #lease(lease: LeaseImpl, autoExtend: boolean): Lease {
    if (autoExtend) void keepExtended(lease, lease.signal, this);
    return lease;
  }

  async read<T = unknown>(key: string, options?: { readonly signal?: AbortSignal }): Promise<ValueRead<T>> {
    const checked = validateOptions("read options", options);
    const backendKey = this.#settings.namespace + validateKey(key);
    return readValue<T>(this, backendKey, validateSignal(checked.signal));
  }

  report(error: unknown): void {
    this.#settings.onBackgroundError(error);
  }

  async #acquire(
    key: string,
    options: TryAcquireOptions,
    waitMs: number,
    throwOnTimeout: boolean,
    op: OperationTracker = NO_EVENTS,
  ): Promise<Lease | null> {
    validateKey(key);
    const ttlMs = validateDuration(
      "ttlMs",
      options.ttlMs === undefined ? this.#settings.defaultTtlMs : options.ttlMs,
      1,
      this.maxTtlMs,
    );
    const owner = validateOwner(options.owner);
    const userSignal = validateSignal(options.signal);
    const timeoutMs = validateTimeout(options.timeoutMs);
    const autoExtend = validateFlag("autoExtend", options.autoExtend) ?? false;
    if (userSignal?.aborted) throw abortError(userSignal);

    const backendKey = this.#settings.namespace + key;
    // One token for the whole wait: a retry after an ambiguous failure, or a
    // later poll, recognises a grant that an earlier request obtained.
    const token = newToken();
    const started = Date.now();
    const budget = this.#settings.budget(started, waitMs, timeoutMs);
    const push = this.capabilities.pushWakeups;

    // Some attempt went unanswered (it was retried): it may yet be granted.
    let unanswered = false;
    for (let poll = 0; ; poll++) {
      const sentAt = Date.now();
      // Planned afresh for every attempt, retries included: each asks the
      // backend only for the wait that is left.
      let serverWait = 0;
      let inFlight: Promise<AdapterAcquireResult> | undefined;
      let sends = 0;
      let result: AdapterAcquireResult;
      op.attempts++;
      try {
        result = await callWithRetries(
          op.wrap((attempt) => {
            sends++;
            inFlight = this.adapter.acquire(new AcquireRequest(backendKey, token, ttlMs, serverWait, owner, attempt));
            return inFlight;
          }),
          {
            // A fixed limit unless the backend waits for us: no closure per call then.
            attemptMs: push
              ? () => {
                  serverWait = this.#settings.serverWait(budget);
                  return this.#settings.requestTimeoutMs + serverWait;
                }
              : this.#settings.requestTimeoutMs,
            retries: this.#settings.retries,
            endsAt: budget.endsAt,
            // A polling backend's request is short, and aborting it would not
            // stop the backend from applying it: let it answer. A push
            // backend's wait is withdrawn by the abort.
            detachOnAbort: !push,
          },
          userSignal,
        );
      } catch (error) {
        // The request may have been granted: give the lock back rather than
        // leave it held by a token nobody has.
        if (error instanceof LockAbortedError || (error instanceof BackendError && error.maybeApplied)) {
          this.#giveBack(backendKey, token, inFlight, unanswered || sends > 1);
        }
        throw redactToken(error, token);
      }
      if (sends > 1) unanswered = true;
      if (result.ok) return this.#lease(new LeaseImpl(this, key, backendKey, token, result, sentAt, ttlMs), autoExtend);

      const remaining = budget.waitEndsAt - Date.now();
      if (remaining <= 0) {
        if (unanswered) this.#giveBack(backendKey, token, undefined, true);
        if (!throwOnTimeout) return null;
        throw new LockTimeoutError(key, Date.now() - started);
      }
      const delayMs = pollDelay(poll, result.retryAfterMs, remaining, this.#settings.backoff);
      op.point({ type: "waited", attempt: poll + 1, delayMs, retryAfterMs: result.retryAfterMs });
      try {
        await sleepBetweenPolls(this.adapter, {
          key: backendKey,
          token,
          refusal: result,
          fallbackMs: delayMs,
          remainingMs: remaining,
          signal: userSignal,
        });
      } catch (error) {
        if (unanswered) this.#giveBack(backendKey, token, undefined, true);
        throw error;
      }
    }
  }

  /**
   * Release in the background what an acquire that ended without a lease
   * may hold (src/give-back.ts), so the caller's time limit holds.
   */
  #giveBack(
    backendKey: string,
    token: string,
    last: Promise<AdapterAcquireResult> | undefined,
    unanswered: boolean,
  ): void {
    void giveBack({
      last,
      unanswered,
      requestTimeoutMs: this.#settings.requestTimeoutMs,
      release: () => releaseQuietly(this, backendKey, token),
    });
  }

  /**
   * Run one adapter operation with the locker's request timeout, retries and
   * time limit (see {@link callWithRetries}).
   */
  call<T>(
    operation: (attempt: AttemptSignal) => Promise<T>,
    userSignal?: AbortSignal,
    endsAt = this.#settings.endsAt(Date.now(), undefined),
  ): Promise<T> {
    return callWithRetries(
      operation,
      { attemptMs: this.#settings.requestTimeoutMs, retries: this.#settings.retries, endsAt },
      userSignal,
    );
  }
}
