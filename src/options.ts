/**
 * The lock client's public interface and option types, in their own module
 * so that the locker and `withLock` both depend on it and not on each other.
 *
 * @module
 */

import type { Election } from "./election.js";
import type { LockEventListener } from "./events.js";
import type { ForceReleaseOptions, ForceReleaseResult } from "./force-release.js";
import type { ValueRead } from "./guarded-value.js";
import type { Lease } from "./lease.js";
import type { Semaphore, SemaphoreOptions } from "./semaphore.js";
import type { BackoffOptions } from "./timing.js";
import type { AdapterCapabilities, LockAdapter, LockState } from "./types.js";

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
  /**
   * Time limit of each whole operation (every call of the locker and of its
   * leases: its requests, retries, backoff and any wait), ms. Default: none
   * beyond the per-request limits (see the README's worst-case table). Set it
   * below your platform's invocation limit, e.g. 2 500 under Lambda's default
   * 3 s. A call's own `timeoutMs` overrides it.
   */
  readonly timeoutMs?: number;
  /** Backoff between polls while waiting for a held lock. */
  readonly backoff?: BackoffOptions;
  /**
   * Receives failures of clean-up work that runs after the caller already has
   * its answer (releasing a lock that a failed or aborted acquire may have
   * been granted). Default: `console.warn`.
   */
  readonly onBackgroundError?: (error: unknown) => void;
  /**
   * Receives a {@link LockEvent} for every operation and lease (acquired,
   * refused, waited, extended, extend failed, lost, released, backend
   * error…), with keys, fences, durations and counts, never tokens. Called
   * synchronously: keep it quick. `edgelock/otel` builds spans and metrics
   * from it. Default: none, at no cost.
   *
   * @example
   * ```ts
   * const locker = createLocker({ adapter, onEvent: (event) => console.log(JSON.stringify(event)) });
   * ```
   */
  readonly onEvent?: LockEventListener;
}

/** Options every call takes. */
export interface CallOptions {
  /** Cancels the operation. */
  readonly signal?: AbortSignal;
  /** Time limit of the whole call, ms. Default: the locker's `timeoutMs`. */
  readonly timeoutMs?: number;
}

/** Options of {@link Locker.tryAcquire}. */
export interface TryAcquireOptions extends CallOptions {
  /** Lock TTL, ms. Default: the locker's `defaultTtlMs`. */
  readonly ttlMs?: number;
  /** Free-text description of the holder, shown by `inspect`. */
  readonly owner?: string;
  /**
   * Keep extending the lease each time a third of its TTL has passed, until
   * it is released. Default `false` (`withLock` extends on its own). If an
   * extension fails for good, `lease.signal` aborts; failed attempts are
   * reported through `onBackgroundError`.
   */
  readonly autoExtend?: boolean;
}

/** Options of {@link Locker.resume}. */
export interface ResumeOptions extends CallOptions {
  /** TTL the resumed lease is extended to, ms. Default: the locker's `defaultTtlMs`. */
  readonly ttlMs?: number;
  /** As for {@link TryAcquireOptions.autoExtend}. */
  readonly autoExtend?: boolean;
}

/** Options of {@link Locker.acquire}. */
export interface AcquireOptions extends TryAcquireOptions {
  /** Longest total wait for the lock, ms. Default: the locker's `defaultWaitMs`. */
  readonly waitMs?: number;
}

/** Options of {@link Locker.withLock}. */
export interface WithLockOptions extends AcquireOptions {
  /**
   * Longest wait for the lock, ms. Default `0`: try once, and report
   * `{ ran: false, reason: "locked" }` if it is held (the run-once pattern).
   */
  readonly waitMs?: number;
  /**
   * Keep extending the lease while `fn` runs, each time a third of the TTL
   * has passed. Default `true`. If an extension fails for good, the lease's
   * signal aborts so `fn` can stop.
   */
  readonly autoExtend?: boolean;
  /**
   * Epoch ms after which auto-extension stops (the end of a serverless
   * invocation, see `invocationBudget`): the lease then frees itself within
   * its TTL even if the process is frozen or killed. If `fn` runs on past
   * it, the lease expires and its signal aborts. Default: no limit.
   */
  readonly extendUntil?: number;
}

/**
 * Outcome of {@link Locker.withLock}: `fn` ran under the lock (its `value`,
 * and the `fence` it ran with), or it did not run because the lock was held
 * (`"locked"`, no wait asked) or still held when the wait ran out
 * (`"timeout"`).
 */
export type WithLockResult<T> =
  | { readonly ran: true; readonly value: T; readonly fence: number }
  | { readonly ran: false; readonly reason: "locked" | "timeout" };

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
  /**
   * Continue a lease taken elsewhere (another instance, a later invocation)
   * from its key and owner token: extends it on the backend with the token,
   * so the lease comes back with its fence and a fresh TTL. Throws
   * {@link LockLostError} when the token no longer holds the key.
   *
   * @example
   * ```ts
   * // The queue message carries { key, token } from the invocation that took the lock.
   * const lease = await locker.resume(message.key, message.token, { ttlMs: 30_000 });
   * try { await finish(lease.fence); } finally { await lease.release(); }
   * ```
   */
  resume(key: string, token: string, options?: ResumeOptions): Promise<Lease>;
  /** Who holds `key`, without needing its token. */
  inspect(key: string, options?: CallOptions): Promise<LockState>;
  /**
   * Free `key` without its token: an operator breaking the lock of a holder
   * known to be dead. The next holder still gets a greater fence; the broken
   * holder's `extend` fails with {@link LockLostError}. Throws
   * `BackendRejectedError` when the adapter cannot do it.
   *
   * @example
   * ```ts
   * const result = await locker.forceRelease("nightly-report");
   * if (result.released) console.log(`broke the lock held under fence ${result.fence}`);
   * ```
   */
  forceRelease(key: string, options?: ForceReleaseOptions): Promise<ForceReleaseResult>;
  /**
   * The key's guarded value, its version and the fence of its writer, without
   * needing a token. Write it with `lease.write`.
   *
   * @example
   * ```ts
   * const { value, version } = await locker.read<{ step: string }>("report:daily");
   * ```
   */
  read<T = unknown>(key: string, options?: { readonly signal?: AbortSignal }): Promise<ValueRead<T>>;
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
