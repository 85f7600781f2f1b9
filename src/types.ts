/**
 * The adapter contract: what a backend must do for edgelock.
 *
 * Every adapter (memory, Upstash, DynamoDB, Azure Blob, Durable Object, HTTP)
 * implements {@link LockAdapter}. The lock client ({@link createLocker} in
 * `./locker.ts`) validates input, generates owner tokens, waits, retries
 * ambiguous outcomes and turns grants into leases; an adapter only speaks to
 * its backend, and should do each operation in one backend request.
 *
 * Rules every adapter follows:
 * - **One key, one lock.** Keys arrive already namespaced and validated.
 * - **Idempotent by token.** `acquire` with the token that already holds the
 *   key answers `granted` with the same fence (a retry after a lost response
 *   must never be refused, nor granted a second fence).
 * - **Fences strictly increase per key**, across releases, expiries and any
 *   cleanup of idle state, and are safe integers.
 * - **Expected outcomes are values** (`held`, `not_held`); only failures
 *   throw, and they throw an {@link EdgelockError} subclass, with
 *   `BackendError.maybeApplied` saying whether the request may have taken
 *   effect.
 * - **I/O only through `fetch`** (injectable), no `node:` imports.
 *
 * @module
 */

/** Whose clock decides when a lock expires. */
export type ClockAuthority =
  /**
   * The backend's own clock expires the lock (Redis PX, Azure lease,
   * Durable Object alarm). Clients only need to measure durations.
   */
  | "backend"
  /**
   * The client writes an absolute expiry computed from its own clock and
   * contenders compare against theirs (DynamoDB). Safety then depends on
   * bounded clock skew, covered by {@link AdapterCapabilities.clockSkewMarginMs}.
   */
  | "client";

/** What an adapter can do; the lock client and the conformance suite read it. */
export interface AdapterCapabilities {
  /** Short adapter name, e.g. `"memory"`, `"upstash"`. */
  readonly name: string;
  /** Whose clock decides expiry. */
  readonly clock: ClockAuthority;
  /**
   * Clock-skew margin applied when {@link clock} is `"client"`: a contender
   * treats a lock as expired only `margin` ms after its stated expiry, and a
   * holder treats its own lease as valid only until `margin` ms before it.
   * `0` for backend clocks.
   */
  readonly clockSkewMarginMs: number;
  /** TTL bounds and granularity. */
  readonly ttl: {
    /**
     * Smallest TTL the backend grants. A shorter request is rounded **up**
     * to this and the grant reports the TTL actually granted.
     */
    readonly minMs: number;
    /**
     * Largest TTL the backend can honour safely. A longer request is refused
     * with an `InvalidArgumentError`; use extend / auto-extend instead.
     */
    readonly maxMs: number;
    /** Resolution of expiry: TTLs are rounded up to a multiple of this. */
    readonly granularityMs: number;
  };
  /** How fences are produced. */
  readonly fencing: {
    /**
     * `true` when the fence is bumped in the same atomic backend operation as
     * the grant; `false` when the adapter needs extra conditional writes.
     */
    readonly native: boolean;
  };
  /**
   * `true` when the adapter can wait inside the backend and be woken on
   * release (the Durable Object's queue, the memory adapter's, Upstash's
   * `BLPOP`, an HTTP service in front of any backend): the lock client then
   * passes `waitMs` to {@link LockAdapter.acquire} instead of polling.
   */
  readonly pushWakeups: boolean;
  /**
   * Only for adapters with `pushWakeups`: backend requests one waiting
   * acquire makes while the holder keeps the lock (short of its expiry).
   * `0` in-process (memory); `1` where the backend queues the request itself (Durable Object); `2`
   * where the adapter waits with a refused attempt followed by a blocking
   * call (Upstash's `BLPOP`). Default: `requestsPerOperation.acquire`.
   */
  readonly requestsPerPushWait?: number | undefined;
  /**
   * Backend requests per uncontended operation (after any one-time warm-up
   * such as script loading or container creation). The conformance suite
   * counts `fetch` calls and holds the adapter to these numbers.
   */
  readonly requestsPerOperation: {
    readonly acquire: number;
    readonly extend: number;
    readonly release: number;
    readonly inspect: number;
  };
  /**
   * Present when the adapter implements {@link LockAdapter.forceRelease}:
   * the backend requests one costs (counted like `requestsPerOperation`).
   */
  readonly forceRelease?: { readonly requests: number };
  /**
   * The guarded value ({@link LockAdapter.readValue},
   * {@link LockAdapter.writeValue}): present exactly when the adapter
   * implements both methods. The lock client refuses `read`/`write` with an
   * `unsupported` error on an adapter without it.
   */
  readonly guardedValue?: GuardedValueCapabilities | undefined;
}

/**
 * What an adapter's guarded value can hold and costs. See
 * {@link LockAdapter.writeValue} for the rules every implementation follows.
 */
export interface GuardedValueCapabilities {
  /**
   * Largest value, in UTF-8 bytes of its JSON text; at least 65 536. The lock
   * client refuses a larger value with an `InvalidArgumentError` before any
   * request.
   */
  readonly maxBytes: number;
  /** Backend requests per uncontended `readValue` and `writeValue`; the suite counts them. */
  readonly requestsPerOperation: {
    readonly read: number;
    readonly write: number;
  };
}

/** Arguments common to every adapter call. */
export interface AdapterCallOptions {
  /**
   * Aborts the request (user cancellation or the lock client's per-request
   * timeout). An aborted request may still have been applied: the lock
   * client resolves that with the owner token.
   *
   * On the lock client's acquire, extend and release requests this is an
   * accessor on the request's prototype (the signal is made only when read):
   * a wrapper that copies a request must pass it on by name,
   * `{ ...request, signal: request.signal }`, as a spread copies own fields only.
   */
  readonly signal?: AbortSignal | undefined;
}

/** Arguments of {@link LockAdapter.acquire}. */
export interface AdapterAcquireRequest extends AdapterCallOptions {
  /** Fully namespaced, validated key. */
  readonly key: string;
  /** Owner token (unguessable, generated by the lock client). */
  readonly token: string;
  /** Requested TTL in ms, already within `[1, capabilities.ttl.maxMs]`. */
  readonly ttlMs: number;
  /**
   * Only for adapters with `pushWakeups`: how long the backend may queue this
   * request before answering `held`. `0` or absent: answer at once.
   */
  readonly waitMs?: number | undefined;
  /** Optional human-readable holder description, shown by `inspect`. */
  readonly owner?: string | undefined;
}

/** A granted lock (acquire or extend). */
export interface AdapterGrant {
  readonly ok: true;
  /** Fencing token: strictly increasing per key, a safe integer. */
  readonly fence: number;
  /**
   * TTL in force, in ms, counted from no earlier than when the request was
   * sent (may be longer than asked, see `ttl.minMs`). When `acquire` finds
   * the lock already held by the same token (a retry), the adapter either
   * refreshes the expiry to the TTL asked for, or answers with the time
   * actually left: never more than the lock really has.
   */
  readonly ttlMs: number;
  /**
   * Expiry as epoch ms, as the authority clock states it (backend's, or the
   * client's own for `clock: "client"`). Informational: the lock client
   * derives its own conservative deadline from the request's start time.
   */
  readonly expiresAt: number;
  /**
   * Only for adapters with `pushWakeups`: how long the backend queued the
   * request before granting it, measured on the backend's clock. The lock
   * client adds it to its deadline, which otherwise counts from when the
   * request was sent.
   */
  readonly waitedMs?: number | undefined;
}

/** The key is held by another token. */
export interface AdapterRefusal {
  readonly ok: false;
  readonly reason: "held";
  /** How long until the current holder's lock expires, where the backend can tell. */
  readonly retryAfterMs?: number | undefined;
}

/** Arguments of {@link LockAdapter.pollWait}. */
export interface AdapterPollWaitRequest {
  readonly key: string;
  /** The waiting acquire's owner token (the same on every attempt of one wait). */
  readonly token: string;
  /** The refusal the last attempt got. */
  readonly refusal: AdapterRefusal;
  /** The lock client's own backoff delay, ms: what to sleep when the adapter knows nothing better. */
  readonly fallbackMs: number;
  /** What is left of the caller's wait, ms: the sleep never ends later. */
  readonly remainingMs: number;
  /** The caller's cancellation: the sleep rejects with `LockAbortedError` when it aborts. */
  readonly signal?: AbortSignal | undefined;
}

/** Result of {@link LockAdapter.acquire}. */
export type AdapterAcquireResult = AdapterGrant | AdapterRefusal;

/** Arguments of {@link LockAdapter.extend}. */
export interface AdapterExtendRequest extends AdapterCallOptions {
  readonly key: string;
  readonly token: string;
  /** New TTL counted from now. */
  readonly ttlMs: number;
}

/** The token does not hold the key (never held, expired, released, taken over). */
export interface AdapterNotHeld {
  readonly ok: false;
  readonly reason: "not_held";
}

/** Result of {@link LockAdapter.extend}. The fence does not change on extend. */
export type AdapterExtendResult = AdapterGrant | AdapterNotHeld;

/** Arguments of {@link LockAdapter.release}. */
export interface AdapterReleaseRequest extends AdapterCallOptions {
  readonly key: string;
  readonly token: string;
}

/** Result of {@link LockAdapter.release}. */
export type AdapterReleaseResult = { readonly ok: true } | AdapterNotHeld;

/** Arguments of {@link LockAdapter.forceRelease}. */
export interface AdapterForceReleaseRequest extends AdapterCallOptions {
  readonly key: string;
  /**
   * Fence of the holder to free, as `inspect` showed it. Only that holder is
   * freed: a retry after a lost answer, or a break that races a new grant,
   * can never free the next holder.
   */
  readonly fence: number;
}

/** Result of {@link LockAdapter.forceRelease}: `not_held` when the key is free or held under another fence. */
export type AdapterForceReleaseResult = { readonly ok: true } | AdapterNotHeld;

/** What {@link LockAdapter.inspect} sees; never the token. */
export type LockState =
  | {
      readonly held: true;
      readonly fence: number;
      /** Epoch ms, per the authority clock. */
      readonly expiresAt: number;
      readonly owner?: string | undefined;
    }
  | { readonly held: false };

/**
 * The guarded value of a key as stored. `version` 0 means never written;
 * `json` is `undefined` when never written or deleted (a deletion is a write:
 * it has a version of its own).
 */
export interface StoredValue {
  /** JSON text exactly as written. */
  readonly json: string | undefined;
  /** Version of the last write (or deletion); 0 before the first. */
  readonly version: number;
  /** Fence of the lease that made the last write; 0 before the first. */
  readonly fence: number;
}

/** Arguments of {@link LockAdapter.writeValue}. */
export interface AdapterWriteRequest extends AdapterCallOptions {
  readonly key: string;
  /** Owner token that must hold `key` when the write is applied. */
  readonly token: string;
  /** JSON text to store (validated, within `maxBytes`), or `null` to delete the value. */
  readonly json: string | null;
  /**
   * Unguessable id of this write, the same on every retry of it: a write whose
   * id is the last one stored was already applied and is answered as such,
   * never applied twice.
   */
  readonly writeId: string;
  /** Apply only if the stored version is this one (0: never written). Absent: any version. */
  readonly expectedVersion?: number | undefined;
}

/** Result of {@link LockAdapter.writeValue}. */
export type AdapterWriteResult =
  | {
      readonly ok: true;
      /** Version the write got (the earlier one, for a write answered as already applied). */
      readonly version: number;
      /** Fence of the holder, now stored with the value. */
      readonly fence: number;
    }
  /** `token` does not hold `key` (never held, expired, released, taken over). Nothing changed. */
  | AdapterNotHeld
  /** `expectedVersion` was given and differs from the stored one. Nothing changed. */
  | { readonly ok: false; readonly reason: "version_mismatch"; readonly version: number };

/**
 * What an adapter's semaphores can do. Its presence on
 * {@link LockAdapter.semaphores} is the capability itself.
 */
export interface SemaphoreCapabilities {
  /** Largest `limit` (permits per key) the backend stores safely in one operation. */
  readonly maxLimit: number;
  /**
   * `true` when a refused acquire can wait inside the backend and be woken
   * when a permit frees ({@link AdapterAcquireRequest.waitMs} is honoured);
   * otherwise the client polls as it does for the lock.
   */
  readonly pushWakeups: boolean;
  /** Backend requests per uncontended operation; the conformance suite counts them. */
  readonly requestsPerOperation: {
    readonly acquire: number;
    readonly extend: number;
    readonly release: number;
    readonly inspect: number;
  };
}

/** Arguments of {@link SemaphoreAdapter.acquire}: a lock request plus the permit limit. */
export interface SemaphoreAcquireRequest extends AdapterAcquireRequest {
  /** Permits the key allows at once, an integer in `[1, maxLimit]`. */
  readonly limit: number;
}

/**
 * The key's live permits were granted under a different limit. The limit is
 * a property of the current holder set: it is refused, never silently
 * changed, while any permit under another limit is unexpired; once the key
 * has no live permit, the next acquire sets it.
 */
export interface SemaphoreLimitConflict {
  readonly ok: false;
  readonly reason: "limit_mismatch";
  /** The limit the live permits were granted under. */
  readonly limit: number;
}

/**
 * Result of {@link SemaphoreAdapter.acquire}: `held` means all `limit`
 * permits are taken by other tokens (`retryAfterMs`: until the earliest
 * expires, where the backend can tell).
 */
export type SemaphoreAcquireResult = AdapterGrant | AdapterRefusal | SemaphoreLimitConflict;

/** One live permit as {@link SemaphoreAdapter.inspect} shows it; never its token. */
export interface PermitState {
  /** The fence granted with this permit. */
  readonly fence: number;
  /** Epoch ms, per the authority clock. */
  readonly expiresAt: number;
  readonly owner?: string | undefined;
}

/** What {@link SemaphoreAdapter.inspect} sees. */
export interface SemaphoreState {
  /** The limit of the live permits; `null` when none is live. */
  readonly limit: number | null;
  /** Live permits, by ascending fence. */
  readonly permits: readonly PermitState[];
}

/**
 * Counting semaphores on the same backend as the locks: at most `limit`
 * unexpired permits per key at any instant, each a lease with its own token,
 * TTL and fence. Semaphore keys live apart from lock keys (the same key
 * names a lock and a semaphore independently).
 *
 * Rules, as for locks:
 * - **Idempotent by token.** `acquire` with a token that already holds a
 *   permit answers `granted` with that permit's fence; it never takes a
 *   second permit for one token, and this check comes before any refusal.
 * - **One atomic operation decides a grant**: expired permits are dropped,
 *   the live ones counted against `limit`, and the fence counter bumped,
 *   together. Fences strictly increase per semaphore key across all its
 *   permits, releases, expiries and cleanup.
 * - `extend` and `release` act on the token's own permit only; an expired
 *   permit is not held.
 *
 * @example
 * ```ts
 * const locker = createLocker({ adapter: upstashAdapter({ url, token }) });
 * await using permit = await locker.semaphore("thumbnailer", { limit: 4 }).acquire({ waitMs: 10_000 });
 * ```
 */
export interface SemaphoreAdapter {
  readonly capabilities: SemaphoreCapabilities;
  /** Take a permit of `key` for `token` if fewer than `limit` live permits are held by others. */
  acquire(request: SemaphoreAcquireRequest): Promise<SemaphoreAcquireResult>;
  /** Set the expiry of `token`'s permit to now + `ttlMs`; `not_held` when it has none. */
  extend(request: AdapterExtendRequest): Promise<AdapterExtendResult>;
  /** Free `token`'s permit; `not_held` when it has none. Other permits are untouched. */
  release(request: AdapterReleaseRequest): Promise<AdapterReleaseResult>;
  /** Live permits of `key`, readable without a token. */
  inspect(key: string, options?: AdapterCallOptions): Promise<SemaphoreState>;
  /**
   * Optional, as {@link LockAdapter.pollWait} for locks: the sleep between
   * two attempts of a waiting permit acquire that was refused (`key` is the
   * semaphore's), ended early when the backend shows a permit freed (etcd:
   * a watch of the slot keys). The same bounds hold: never past
   * `remainingMs`, `LockAbortedError` on abort, and a wake-up it misses
   * costs latency only.
   */
  pollWait?(request: AdapterPollWaitRequest): Promise<void>;
}

/**
 * A lock backend. Implementations live in `adapters/<name>/` (the HTTP
 * service's client too, `adapters/http/`) and are built by `xxxAdapter(options)`.
 *
 * @example
 * ```ts
 * import { createLocker, memoryAdapter } from "edgelock";
 * const locker = createLocker({ adapter: memoryAdapter() });
 * ```
 */
export interface LockAdapter {
  /** What this adapter can do; constant for its lifetime. */
  readonly capabilities: AdapterCapabilities;

  /**
   * Take `key` for `token` if it is free, expired, or already held by
   * `token` (then answer with the existing fence). One atomic backend
   * operation: either grants with a new fence or refuses.
   */
  acquire(request: AdapterAcquireRequest): Promise<AdapterAcquireResult>;

  /**
   * Set the expiry of a lock held by `token` to now + `ttlMs`. Answers
   * `not_held` when `token` does not hold it (an expired lock is not held,
   * even if nobody took it since).
   */
  extend(request: AdapterExtendRequest): Promise<AdapterExtendResult>;

  /**
   * Free `key` if `token` holds it; `not_held` otherwise, leaving any other
   * holder untouched.
   */
  release(request: AdapterReleaseRequest): Promise<AdapterReleaseResult>;

  /**
   * Free `key` without its token (an operator breaking the lock of a holder
   * known to be dead), if it is held under `fence`. The fence counter is
   * kept, so the next holder's fence is greater; the broken holder's
   * `extend` and `release` answer `not_held` afterwards. Optional: an adapter
   * without it cannot break locks (the lock client then refuses with a
   * `BackendRejectedError`).
   */
  forceRelease?(request: AdapterForceReleaseRequest): Promise<AdapterForceReleaseResult>;

  /**
   * Optional, for adapters without `pushWakeups`: sleep between two
   * attempts of a waiting acquire, until the lock will likely be free (a
   * schedule of hold times, `src/wait-schedule.ts`; etcd's watch of the lock
   * key), instead of the lock client's blind backoff. The HTTP service
   * sleeps through it too; both end the sleep at `remainingMs` and at an
   * abort even if the adapter does not (`src/poll-sleep.ts`), aborting the
   * `signal` they passed in.
   * Never longer than `remainingMs` nor than the refusal's `retryAfterMs`
   * (the holder's expiry), so a dead holder is still noticed; a wrong guess
   * costs latency only: the next attempt decides.
   */
  pollWait?(request: AdapterPollWaitRequest): Promise<void>;

  /** Current state of `key`, readable without the token. */
  inspect(key: string, options?: AdapterCallOptions): Promise<LockState>;

  /**
   * Optional, with {@link AdapterCapabilities.guardedValue}: the key's guarded
   * value, readable without the token. A read never sees part of a write:
   * it returns one whole write (or the deletion) and its version.
   */
  readValue?(key: string, options?: AdapterCallOptions): Promise<StoredValue>;

  /**
   * Optional, with {@link AdapterCapabilities.guardedValue}: store (or, with
   * `json: null`, delete) the key's guarded value if `token` holds the lock,
   * checked **in the same backend request** as the write. Rules:
   * - a token that does not hold the key (released, expired — for
   *   client-clock adapters, expired per the skew margin on the writer's
   *   side —, taken over) gets `not_held` and nothing changes;
   * - every applied write (and deletion) gets a version greater than any
   *   before it on this key, never repeated, even after idle state is
   *   cleaned up;
   * - a write whose `writeId` is the last stored one answers `ok` with that
   *   version and applies nothing (a retry after a lost answer), whoever
   *   holds the lock now;
   * - the value outlives the lock (release, expiry) until deleted; a
   *   deletion keeps the version counter;
   * - with `expectedVersion`, a different stored version gives
   *   `version_mismatch` and nothing changes.
   */
  writeValue?(request: AdapterWriteRequest): Promise<AdapterWriteResult>;

  /**
   * Counting semaphores on this backend, when it has them (see
   * {@link SemaphoreAdapter}); absent otherwise, and `locker.semaphore()`
   * then refuses with an `InvalidArgumentError`.
   */
  readonly semaphores?: SemaphoreAdapter;

  /** Free client-side resources (timers, sockets of a test backend). Optional. */
  dispose?(): Promise<void>;
}
