/**
 * Typed errors. Expected outcomes (a lock held by someone else) are result
 * values, never errors; these are for things that went wrong.
 *
 * @module
 */

/** Machine-readable error codes. */
export type EdgelockErrorCode =
  | "invalid_argument"
  | "timeout"
  | "aborted"
  | "lock_lost"
  | "backend_unavailable"
  | "backend_rejected"
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
 * Wrap anything a `fetch` call threw (network failure, abort, timeout) as a
 * {@link BackendError} that may have been applied: the request may have
 * reached the backend before the connection or the wait failed. Edgelock's
 * own errors pass through unchanged.
 */
export function fetchFailure(cause: unknown, what: string): EdgelockError {
  if (cause instanceof EdgelockError) return cause;
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new BackendError(`${what} failed in transit (${detail})`, { cause, maybeApplied: true });
}
