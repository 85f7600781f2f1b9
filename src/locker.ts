import { callWithRetries } from "./call.js";
import { createElection, type Election } from "./election.js";
import { BackendError, EdgelockError, LockAbortedError, LockTimeoutError } from "./errors.js";
import { type Lease, type LeaseContext, LeaseImpl } from "./lease.js";
import { createSemaphore, type Semaphore, type SemaphoreOptions } from "./semaphore.js";
import { abortError, type BackoffOptions, pollDelay, sleep } from "./timing.js";
import { newToken } from "./token.js";
import type { AdapterAcquireResult, AdapterCapabilities, LockAdapter, LockState } from "./types.js";
import { MAX_DURATION_MS, validateDuration, validateKey, validateNamespace, validateOwner } from "./validate.js";
import { type WithLockOptions, type WithLockResult, withLock } from "./with-lock.js";

/** Options of {@link createLocker}. */
export interface LockerOptions {
  /** The backend. Swap it and nothing else changes. */
  readonly adapter: LockAdapter;
  /**
   * Prepended to every key before it reaches the adapter, so that two apps
   * sharing a backend never collide. Default `""`.
   */
  readonly namespace?: string;
  /** TTL used when an operation names none, ms. Default 30 000. */
  readonly defaultTtlMs?: number;
  /** Default wait of {@link Locker.acquire}, ms. Default 10 000. */
  readonly defaultWaitMs?: number;
  /**
   * Time limit of one backend request, ms. A request that exceeds it is
   * treated as possibly applied and retried with the same owner token.
   * Default 5 000.
   */
  readonly requestTimeoutMs?: number;
  /** Retries of one operation after a retryable backend failure. Default 2. */
  readonly retries?: number;
  /** Backoff between polls while waiting for a held lock. */
  readonly backoff?: BackoffOptions;
  /**
   * Receives failures of clean-up work that runs after the caller already has
   * its answer (releasing a lock granted to a request the caller aborted).
   * Default: `console.warn`.
   */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** Options of {@link Locker.tryAcquire}. */
export interface TryAcquireOptions {
  /** Lock TTL, ms. Default: the locker's `defaultTtlMs`. */
  readonly ttlMs?: number;
  /** Free-text description of the holder, shown by `inspect`. */
  readonly owner?: string;
  /** Cancels the operation. */
  readonly signal?: AbortSignal;
}

/** Options of {@link Locker.acquire}. */
export interface AcquireOptions extends TryAcquireOptions {
  /** Longest total wait for the lock, ms. Default: the locker's `defaultWaitMs`. */
  readonly waitMs?: number;
}

/** The lock client. Build it with {@link createLocker}. */
export interface Locker {
  /** The adapter's declared capabilities. */
  readonly capabilities: AdapterCapabilities;
  /**
   * Take the lock if it is free; `null` if someone else holds it.
   *
   * @example
   * ```ts
   * const lease = await locker.tryAcquire("nightly-report", { ttlMs: 60_000 });
   * if (!lease) return; // another instance runs it
   * try { await report(); } finally { await lease.release(); }
   * ```
   */
  tryAcquire(key: string, options?: TryAcquireOptions): Promise<Lease | null>;
  /**
   * Wait up to `waitMs` for the lock. Throws {@link LockTimeoutError} when it
   * is still held then, {@link LockAbortedError} when `signal` aborts.
   *
   * @example
   * ```ts
   * await using lease = await locker.acquire("invoice:42", { ttlMs: 30_000, waitMs: 5_000 });
   * ```
   */
  acquire(key: string, options?: AcquireOptions): Promise<Lease>;
  /**
   * Run `fn` under the lock, released afterwards; by default the lease is
   * extended while `fn` runs. Losers get `{ ran: false }`.
   *
   * @example
   * ```ts
   * const result = await locker.withLock("cron:cleanup", async (lease) => cleanup(lease.signal));
   * if (!result.ran) console.log("another instance ran it");
   * ```
   */
  withLock<T>(key: string, fn: (lease: Lease) => Promise<T> | T, options?: WithLockOptions): Promise<WithLockResult<T>>;
  /** Who holds `key`, without needing its token. */
  inspect(key: string, options?: { signal?: AbortSignal }): Promise<LockState>;
  /**
   * A counting semaphore: at most `limit` live permits for `key` (see `./semaphore.ts`).
   *
   * @example
   * ```ts
   * await using permit = await locker.semaphore("ffmpeg", { limit: 4 }).acquire({ waitMs: 30_000 });
   * ```
   */
  semaphore(key: string, options: SemaphoreOptions): Semaphore;
  /**
   * Leader election on `key`, built on its lock (see `./election.ts`).
   *
   * @example
   * ```ts
   * const leadership = await locker.election("scheduler").campaign({ identity: "pod-a", ttlMs: 15_000 });
   * ```
   */
  election(key: string): Election;
}

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
  readonly #namespace: string;
  readonly #defaultTtlMs: number;
  readonly #defaultWaitMs: number;
  readonly #requestTimeoutMs: number;
  readonly #retries: number;
  readonly #backoff: BackoffOptions;
  readonly #onBackgroundError: (error: unknown) => void;
  readonly #options: LockerOptions;

  constructor(options: LockerOptions) {
    if (!options || typeof options.adapter?.acquire !== "function") {
      throw new EdgelockError("invalid_argument", "createLocker needs an adapter");
    }
    this.adapter = options.adapter;
    this.capabilities = options.adapter.capabilities;
    this.marginMs = this.capabilities.clock === "client" ? this.capabilities.clockSkewMarginMs : 0;
    this.maxTtlMs = Math.min(this.capabilities.ttl.maxMs, MAX_DURATION_MS);
    this.#namespace = validateNamespace(options.namespace ?? "");
    this.#defaultTtlMs = validateDuration("defaultTtlMs", options.defaultTtlMs ?? 30_000, 1, this.maxTtlMs);
    this.#defaultWaitMs = validateDuration("defaultWaitMs", options.defaultWaitMs ?? 10_000, 0, MAX_DURATION_MS);
    this.#requestTimeoutMs = validateDuration(
      "requestTimeoutMs",
      options.requestTimeoutMs ?? 5_000,
      1,
      MAX_DURATION_MS,
    );
    this.#retries = validateDuration("retries", options.retries ?? 2, 0, 10);
    this.#backoff = options.backoff ?? {};
    this.#onBackgroundError = options.onBackgroundError ?? ((error) => console.warn("edgelock:", error));
    this.#options = options;
  }

  semaphore(key: string, options: SemaphoreOptions): Semaphore {
    return createSemaphore(this.#options, createLocker, key, options);
  }

  election(key: string): Election {
    return createElection(this, key, (error) => this.report(error));
  }

  async tryAcquire(key: string, options: TryAcquireOptions = {}): Promise<Lease | null> {
    return this.#acquire(key, options, 0, false);
  }

  async acquire(key: string, options: AcquireOptions = {}): Promise<Lease> {
    const waitMs = validateDuration(
      "waitMs",
      options.waitMs === undefined ? this.#defaultWaitMs : options.waitMs,
      0,
      MAX_DURATION_MS,
    );
    return (await this.#acquire(key, options, waitMs, true)) as Lease;
  }

  withLock<T>(
    key: string,
    fn: (lease: Lease) => Promise<T> | T,
    options: WithLockOptions = {},
  ): Promise<WithLockResult<T>> {
    return withLock(this, key, fn, options);
  }

  async inspect(key: string, options: { signal?: AbortSignal } = {}): Promise<LockState> {
    const backendKey = this.#namespace + validateKey(key);
    return this.call((signal) => this.adapter.inspect(backendKey, { signal }), options.signal);
  }

  report(error: unknown): void {
    this.#onBackgroundError(error);
  }

  async #acquire(
    key: string,
    options: TryAcquireOptions,
    waitMs: number,
    throwOnTimeout: boolean,
  ): Promise<Lease | null> {
    validateKey(key);
    const ttlMs = validateDuration(
      "ttlMs",
      options.ttlMs === undefined ? this.#defaultTtlMs : options.ttlMs,
      1,
      this.maxTtlMs,
    );
    const owner = validateOwner(options.owner);
    const userSignal = options.signal;
    if (userSignal?.aborted) throw abortError(userSignal);

    const backendKey = this.#namespace + key;
    // One token for the whole wait: a retry after an ambiguous failure, or a
    // later poll, recognises a grant that an earlier request obtained.
    const token = newToken();
    const started = Date.now();
    const deadline = started + waitMs;
    const push = this.capabilities.pushWakeups;

    for (let poll = 0; ; poll++) {
      const serverWait = push ? Math.max(0, deadline - Date.now()) : 0;
      const sentAt = Date.now();
      let inFlight: Promise<unknown> = Promise.resolve();
      let result: AdapterAcquireResult;
      try {
        result = await this.call(
          (signal) => {
            const request = this.adapter.acquire({ key: backendKey, token, ttlMs, waitMs: serverWait, owner, signal });
            inFlight = request.catch(() => {});
            return request;
          },
          userSignal,
          serverWait,
        );
      } catch (error) {
        // The request may have been granted: give the lock back rather than
        // leave it held by a token nobody has. After an abort, do it without
        // delaying the caller, once the abandoned request has settled (a
        // release that overtakes it would find nothing to free).
        if (error instanceof LockAbortedError) {
          const settled = Promise.race([inFlight, sleep(this.#requestTimeoutMs)]);
          void settled.then(() => this.#releaseQuietly(backendKey, token));
        } else if (error instanceof BackendError && error.maybeApplied) {
          await this.#releaseQuietly(backendKey, token);
        }
        throw error;
      }
      if (result.ok) return new LeaseImpl(this, key, backendKey, token, result, sentAt, ttlMs);

      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        if (!throwOnTimeout) return null;
        throw new LockTimeoutError(key, Date.now() - started);
      }
      await sleep(pollDelay(poll, result.retryAfterMs, remaining, this.#backoff), userSignal);
    }
  }

  /** Run one adapter operation with the locker's timeout and retries (see {@link callWithRetries}). */
  call<T>(operation: (signal: AbortSignal) => Promise<T>, userSignal?: AbortSignal, extraMs = 0): Promise<T> {
    return callWithRetries(
      operation,
      { timeoutMs: this.#requestTimeoutMs + extraMs, retries: this.#retries },
      userSignal,
    );
  }

  async #releaseQuietly(backendKey: string, token: string): Promise<void> {
    try {
      await this.call((signal) => this.adapter.release({ key: backendKey, token, signal }));
    } catch (error) {
      this.report(
        new BackendError(`could not release "${backendKey}" after a failed acquire; it frees itself at its TTL`, {
          cause: error,
          maybeApplied: true,
        }),
      );
    }
  }
}
