/**
 * The answers the lock and semaphore routes share: a grant, with how long
 * it waited on the service's side, and a refusal to acquire, with when to
 * retry. Never cached: every answer is one caller's.
 *
 * @module
 */
import type { Context } from "hono";
import { type ErrorBody, type GrantBody, WAITED_HEADER } from "../adapters/http/contract.js";
import type { AdapterAcquireResult } from "../src/types.js";

export const NO_STORE = { "Cache-Control": "no-store" } as const;

/** The body of a grant or an extension: the token goes back to its caller only. */
export function grantBody(
  key: string,
  token: string,
  grant: { fence: number; expiresAt: number; ttlMs: number },
): GrantBody {
  return { key, token, fence: grant.fence, expiresAt: Math.floor(grant.expiresAt), ttlMs: grant.ttlMs };
}

/**
 * The answer to an acquire: 200 with the grant and the waited header, or
 * 409 `refusal` (`locked`, `full`) with `retryAfterMs` when the backend
 * named one and a `Retry-After` of at least a second.
 */
export function acquireAnswer(
  c: Context,
  key: string,
  token: string,
  result: AdapterAcquireResult,
  refusal: "locked" | "full",
): Response {
  if (!result.ok) {
    const retryAfterMs = result.retryAfterMs === undefined ? undefined : Math.max(0, Math.ceil(result.retryAfterMs));
    const body: ErrorBody = { error: refusal, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    return c.json(body, 409, {
      ...NO_STORE,
      "Retry-After": String(Math.max(1, Math.ceil((retryAfterMs ?? 1_000) / 1_000))),
    });
  }
  return c.json(grantBody(key, token, result), 200, {
    ...NO_STORE,
    [WAITED_HEADER]: String(Math.max(0, Math.ceil(result.waitedMs ?? 0))),
  });
}
