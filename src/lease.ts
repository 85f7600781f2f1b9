import type { LockLostError, StaleWriteError, VersionConflictError } from "./errors.js";
import type { UpdateOptions, ValueRead, WriteOptions, WriteResult } from "./guarded-value.js";

/**
 * A held lock. Release it with `release()` or `await using`.
 *
 * @example
 * ```ts
 * await using lease = await locker.acquire("invoice:42", { ttlMs: 30_000, waitMs: 5_000 });
 * await charge(invoice, { fence: lease.fence, signal: lease.signal });
 * ```
 */
export interface Lease extends AsyncDisposable {
  /** The key as the caller gave it (without the namespace). */
  readonly key: string;
  /** Owner token: 128 random bits. Proves holdership to the backend. */
  readonly token: string;
  /**
   * Fencing token: strictly increasing per key. Pass it to the resource you
   * protect and have it refuse writes with a fence lower than one it saw.
   */
  readonly fence: number;
  /**
   * Conservative local deadline, epoch ms on this machine's clock: counted
   * from when the granting request was sent, minus the adapter's clock-skew
   * margin. The lock is held at least until then unless released.
   */
  readonly expiresAt: number;
  /** The TTL last granted, ms. */
  readonly ttlMs: number;
  /**
   * Aborts when the lease is known to be gone: its deadline passed without an
   * extension, an extension was refused, or it was released. The reason is a
   * {@link LockLostError}.
   */
  readonly signal: AbortSignal;
  /** Milliseconds left until {@link expiresAt}, or 0. */
  remainingMs(): number;
  /**
   * Push the expiry to now + `ttlMs` (default: the TTL last asked for). The
   * fence stays the same. Throws {@link LockLostError} if the lease is no
   * longer held; the signal is then aborted.
   */
  extend(ttlMs?: number): Promise<void>;
  /**
   * Free the lock. Idempotent: a second call, or a call after the lease
   * expired, resolves without error. Throws only if the backend cannot be
   * reached, in which case the lock frees itself at its TTL.
   */
  release(): Promise<void>;
  /**
   * Replace the key's guarded value, if this lease still holds the lock: the
   * backend checks the token in the same request as the write. Throws
   * {@link StaleWriteError} (and the lease is lost) when it no longer does,
   * {@link VersionConflictError} when `expectedVersion` is given and stale.
   * The value must be JSON (plain objects, arrays, strings, finite numbers,
   * booleans, null) within the adapter's `guardedValue.maxBytes`.
   *
   * @example
   * ```ts
   * await using lease = await locker.acquire("report:daily");
   * const { version } = await lease.write({ step: "uploaded", rows: 1200 });
   * ```
   */
  write(value: unknown, options?: WriteOptions): Promise<WriteResult>;
  /**
   * Read, transform and write back with compare-and-set on the version,
   * again on a conflict. Resolves with the value written and its version.
   *
   * @example
   * ```ts
   * await lease.update<number>((count) => (count ?? 0) + 1);
   * ```
   */
  update<T>(
    fn: (current: T | undefined, read: ValueRead<T>) => T | Promise<T>,
    options?: UpdateOptions,
  ): Promise<WriteResult & { value: T }>;
  /** Delete the guarded value (a write: same checks, and it gets a version). */
  deleteValue(options?: WriteOptions): Promise<WriteResult>;
}
