/**
 * Typed errors. Expected outcomes (a lock held by someone else) are result
 * values, never errors; these are for things that went wrong.
 *
 * @module
 */
import { describeChain } from "./internal/error-chain.js";

/** Machine-readable error codes. */
export type EdgelockErrorCode =
  | "invalid_argument"
  | "timeout"
  | "aborted"
  | "lock_lost"
  | "backend_unavailable"
  | "backend_rejected"
  | "stale_write"
  | "stale_fence"
  | "version_conflict"
  | "unsupported"
  | "limit_mismatch";

/**
 * Base class of every error edgelock throws.
 *
 * @example
 * ```ts
 * try { await locker.acquire("job", { ttlMs: 10_000, waitMs: 5_000 }); }
 * catch (e) { if (e instanceof EdgelockError && e.code === "timeout") skip(); else throw e; }
 * ```
 */
export class EdgelockError extends Error {
  /** Stable, machine-readable code. */
  readonly code: EdgelockErrorCode;

  constructor(code: EdgelockErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input: empty or oversized key, non-integer or out-of-range TTL or wait, bad option. */
export class InvalidArgumentError extends EdgelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid_argument", message, options);
  }
}

/** `acquire` waited `waitMs` and the lock was still held. */
export class LockTimeoutError extends EdgelockError {
  readonly key: string;
  readonly waitedMs: number;
  constructor(key: string, waitedMs: number) {
    super("timeout", `lock "${key}" still held after waiting ${waitedMs} ms`);
    this.key = key;
    this.waitedMs = waitedMs;
  }
}

/** The caller's `AbortSignal` fired. `cause` is the signal's reason. */
export class LockAbortedError extends EdgelockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("aborted", message, options);
  }
}

/** A lease is no longer held: it expired or was taken over, so `extend` failed. */
export class LockLostError extends EdgelockError {
  readonly key: string;
  constructor(key: string, message?: string, options?: { cause?: unknown }) {
    super("lock_lost", message ?? `lock "${key}" is no longer held`, options);
    this.key = key;
  }
}

/**
 * A semaphore key's live permits were granted under a different `limit`
 * than the caller's. Agree on one limit per key; a new limit takes effect
 * once no permit under the old one is live.
 */
export class SemaphoreLimitError extends EdgelockError {
  readonly key: string;
  /** The limit in force for the key's live permits. */
  readonly limit: number;
  constructor(key: string, limit: number, asked: number) {
    super("limit_mismatch", `semaphore "${key}" has live permits under limit ${limit}, not ${asked}`);
    this.key = key;
    this.limit = limit;
  }
}

/**
 * The backend failed: network error, timeout, throttling, 5xx, or an answer
 * the adapter cannot read. `maybeApplied` says whether the request may have
 * taken effect (timeout, lost response); the lock client then resolves the
 * outcome with the owner token instead of guessing.
 */
export class BackendError extends EdgelockError {
  /** Whether the request may have been applied by the backend. */
  readonly maybeApplied: boolean;
  /** Whether retrying the same request is expected to help. */
  readonly retryable: boolean;
  /** HTTP status of the backend's answer, when there was one. */
  readonly status: number | undefined;

  constructor(
    message: string,
    options: { cause?: unknown; maybeApplied: boolean; retryable?: boolean; status?: number | undefined },
  ) {
    super("backend_unavailable", message, { cause: options.cause });
    this.maybeApplied = options.maybeApplied;
    this.retryable = options.retryable ?? true;
    this.status = options.status;
  }
}

/**
 * The backend refused the request for a reason retrying will not fix:
 * authentication, authorisation, a missing table or container, a
 * misconfiguration. Never applied.
 */
export class BackendRejectedError extends EdgelockError {
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number | undefined }) {
    super("backend_rejected", message, { cause: options?.cause });
    this.status = options?.status;
  }
}

/**
 * A guarded write (`lease.write`, `update`, `deleteValue`) was refused by the
 * backend because the lease's token no longer holds the lock: it expired,
 * was released, or another holder took over. Nothing was changed by this
 * attempt; the lease is then lost (its signal aborts).
 */
export class StaleWriteError extends EdgelockError {
  readonly key: string;
  /**
   * `true` when an earlier attempt of the same write failed in transit: it may
   * have been applied while the lease still held the lock, and a later write
   * (by the next holder) has replaced it since, so its id is no longer the
   * one stored. `false`: this write was never applied.
   */
  readonly maybeAppliedEarlier: boolean;
  constructor(key: string, maybeAppliedEarlier: boolean) {
    super(
      "stale_write",
      `write to the value of "${key}" refused: this lease no longer holds the lock` +
        (maybeAppliedEarlier ? " (an earlier attempt may have been applied before it was lost)" : ""),
    );
    this.key = key;
    this.maybeAppliedEarlier = maybeAppliedEarlier;
  }
}

/**
 * A fenced write to a resource was refused: the resource has already seen a
 * higher fence, so the writer's lease was overtaken by a newer holder.
 */
export class StaleFenceError extends EdgelockError {
  /** The fence the write carried. */
  readonly fence: number;
  /** The highest fence the resource had seen. */
  readonly highest: number;
  constructor(resource: string, fence: number, highest: number) {
    super("stale_fence", `write to "${resource}" with fence ${fence} refused: fence ${highest} was already seen`);
    this.fence = fence;
    this.highest = highest;
  }
}

/** A compare-and-set write named a version that is no longer the stored one. Nothing changed. */
export class VersionConflictError extends EdgelockError {
  readonly key: string;
  readonly expectedVersion: number;
  /** The stored version when the write was refused. */
  readonly currentVersion: number;
  constructor(key: string, expectedVersion: number, currentVersion: number) {
    super(
      "version_conflict",
      `write to the value of "${key}" expected version ${expectedVersion}, found ${currentVersion}`,
    );
    this.key = key;
    this.expectedVersion = expectedVersion;
    this.currentVersion = currentVersion;
  }
}

/** The adapter does not offer the feature asked for (e.g. no guarded value). */
export class UnsupportedError extends EdgelockError {
  constructor(message: string) {
    super("unsupported", message);
  }
}

/**
 * Wrap anything a `fetch` call threw (network failure, abort, timeout) as a
 * {@link BackendError} that may have been applied: the request may have
 * reached the backend before the connection or the wait failed. The message
 * names the root cause from the `cause` chain (connection refused, unknown
 * host, TLS). Edgelock's own errors pass through unchanged.
 */
export function fetchFailure(cause: unknown, what: string): EdgelockError {
  if (cause instanceof EdgelockError) return cause;
  return new BackendError(`${what} failed in transit (${describeChain(cause)})`, { cause, maybeApplied: true });
}
