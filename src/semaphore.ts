import { callWithRetries } from "./backend-call.js";
import { InvalidArgumentError, SemaphoreLimitError } from "./errors.js";
import type { Lease } from "./lease.js";
import type {
  AcquireOptions,
  Locker,
  LockerOptions,
  TryAcquireOptions,
  WithLockOptions,
  WithLockResult,
} from "./options.js";
import type { LockAdapter, SemaphoreAdapter, SemaphoreState } from "./types.js";
import { validateKey, validateSignal } from "./validate.js";

/** Options of {@link Locker.semaphore}. */
export interface SemaphoreOptions {
  /**
   * Permits allowed at once, an integer from 1 to the adapter's
   * `semaphores.capabilities.maxLimit`. Every caller of a key must use the
   * same limit: while permits granted under another limit are live, acquire
   * throws {@link SemaphoreLimitError}; once none is, the next acquire's
   * limit takes effect.
   */
  readonly limit: number;
}

/**
 * One permit: a lease like the lock's (token, TTL, `extend`, idempotent
 * `release`, `await using`, a `signal` that aborts when lost), whose fence
 * rises on every permit granted for the key.
 */
export type Permit = Lease;

/**
 * A counting semaphore: at most `limit` live permits per key across every
 * instance using the backend. Build it with {@link Locker.semaphore}.
 *
 * @example
 * ```ts
 * const renders = locker.semaphore("renderer", { limit: 3 });
 * const result = await renders.withPermit(async (permit) => render(job, permit.signal), { waitMs: 30_000 });
 * ```
 */
export interface Semaphore {
  /** The key as given (without the namespace). */
  readonly key: string;
  readonly limit: number;
  /** Take a permit if one is free; `null` when all `limit` are held. */
  tryAcquire(options?: TryAcquireOptions): Promise<Permit | null>;
  /**
   * Wait up to `waitMs` for a permit, with the same wake-ups or polling as
   * the lock on this backend. Throws `LockTimeoutError` when none freed in
   * time, `LockAbortedError` when `signal` aborts.
   */
  acquire(options?: AcquireOptions): Promise<Permit>;
  /** Run `fn` holding a permit, released afterwards; extended while `fn` runs unless `autoExtend: false`. */
  withPermit<T>(fn: (permit: Permit) => Promise<T> | T, options?: WithLockOptions): Promise<WithLockResult<T>>;
  /** The live permits, without tokens. */
  inspect(options?: { signal?: AbortSignal }): Promise<SemaphoreState>;
}

/**
 * Build a semaphore over the locker's adapter. The permits reuse the lock
 * client whole (waiting, ambiguous-outcome retries, leases): a second lock
 * client runs over a view of the adapter's semaphore operations with the
 * limit bound in.
 */
export function createSemaphore(
  options: LockerOptions,
  makeLocker: (options: LockerOptions) => Locker,
  key: string,
  semaphoreOptions: SemaphoreOptions,
): Semaphore {
  validateKey(key);
  const ops = options.adapter.semaphores;
  if (!ops) {
    throw new InvalidArgumentError(`the ${options.adapter.capabilities.name} adapter has no semaphores`);
  }
  const limit = semaphoreOptions?.limit;
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1 || limit > ops.capabilities.maxLimit) {
    throw new InvalidArgumentError(
      `limit must be an integer from 1 to ${ops.capabilities.maxLimit}, got ${typeof limit === "number" ? limit : typeof limit}`,
    );
  }
  const permits = makeLocker({ ...options, adapter: permitAdapter(options.adapter, ops, key, limit) });
  const backendKey = (options.namespace ?? "") + key;
  return {
    key,
    limit,
    tryAcquire: (acquireOptions) => permits.tryAcquire(key, acquireOptions),
    acquire: (acquireOptions) => permits.acquire(key, acquireOptions),
    withPermit: (fn, withOptions) => permits.withLock(key, fn, withOptions),
    inspect: (inspectOptions = {}) =>
      callWithRetries(
        (attempt) => ops.inspect(backendKey, { signal: attempt.signal }),
        {
          attemptMs: options.requestTimeoutMs ?? 5_000,
          retries: options.retries ?? 2,
          endsAt: options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs,
        },
        validateSignal(inspectOptions.signal),
      ),
  };
}

/** The semaphore operations of one key and limit, shaped as a lock adapter for the lock client. */
function permitAdapter(adapter: LockAdapter, ops: SemaphoreAdapter, key: string, limit: number): LockAdapter {
  return {
    capabilities: {
      ...adapter.capabilities,
      pushWakeups: ops.capabilities.pushWakeups,
      requestsPerOperation: ops.capabilities.requestsPerOperation,
    },
    async acquire(request) {
      // The request's `signal` is a prototype accessor (src/adapter-requests.ts): a spread alone would drop it.
      const result = await ops.acquire({ ...request, signal: request.signal, limit });
      if (!result.ok && result.reason === "limit_mismatch") throw new SemaphoreLimitError(key, result.limit, limit);
      return result;
    },
    extend: (request) => ops.extend(request),
    release: (request) => ops.release(request),
    // The permits' own sleep between polls, never the lock's: it knows the lock's holders only.
    ...(ops.pollWait ? { pollWait: ops.pollWait.bind(ops) } : {}),
    async inspect() {
      // The lock client's inspect is never called on this view: Semaphore.inspect reads the permits.
      throw new InvalidArgumentError("inspect a semaphore with semaphore.inspect()");
    },
  };
}
