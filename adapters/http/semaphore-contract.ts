/**
 * The v1 wire contract of the semaphore routes, `/v1/semaphores/{key}/…`,
 * shared by the service and the client. Acquire, extend and release mirror
 * the lock's; acquire adds `limit`.
 *
 * - `POST /v1/semaphores/{key}/acquire` `{ limit, ttlMs, waitMs?, owner?, token? }`
 *   → 200 {@link GrantBody}, 409 `{ error: "full", retryAfterMs? }`, or
 *   409 `{ error: "limit_mismatch", limit }` (live permits under another limit).
 * - `POST /v1/semaphores/{key}/extend` `{ token, ttlMs }` → 200 grant or 409 `not_held`.
 * - `POST /v1/semaphores/{key}/release` `{ token }` → 200 `{ released: true }` or 409 `not_held`.
 * - `GET /v1/semaphores/{key}` → 200 {@link SemaphoreStateBody}.
 *
 * A service whose backend has no semaphores answers 404 `not_found`.
 *
 * @module
 */

/** Largest limit the client lets through; the service refuses more than its backend holds with a 400. */
export const HTTP_MAX_LIMIT = 10_000;

/** 200 answer of `GET /v1/semaphores/{key}`. */
export interface SemaphoreStateBody {
  readonly key: string;
  readonly limit: number | null;
  readonly permits: readonly { readonly fence: number; readonly expiresAt: number; readonly owner?: string }[];
}
