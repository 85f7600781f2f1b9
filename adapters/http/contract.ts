/**
 * The v1 wire contract both sides share: the JSON shapes of bodies and
 * answers, header names and the limits a client must know. The service
 * (`service/`) validates requests against it; the client (`./index.ts`)
 * reads answers by it.
 *
 * @module
 */

/** Largest request body, bytes. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Default ceiling of a server-side wait, ms. */
export const DEFAULT_MAX_WAIT_MS = 30_000;
/** Owner tokens as the lock client makes them: 128 bits, base64url, unpadded. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22}$/;
/** Response header: how long the service queued a granted acquire, ms. */
export const WAITED_HEADER = "Edgelock-Waited-Ms";

/** Body of `POST /v1/locks/{key}/acquire`. `token` is an optional extension. */
export interface AcquireBody {
  readonly ttlMs: number;
  readonly waitMs?: number;
  readonly owner?: string;
  /** Client-proposed owner token, so a retry after a lost answer is recognised. */
  readonly token?: string;
}

/** 200 answer of acquire and extend. */
export interface GrantBody {
  readonly key: string;
  readonly token: string;
  readonly fence: number;
  readonly expiresAt: number;
  readonly ttlMs: number;
}

/** 200 answer of `GET /v1/locks/{key}`. */
export type StateBody =
  | {
      readonly key: string;
      readonly held: true;
      readonly fence: number;
      readonly expiresAt: number;
      readonly owner?: string;
    }
  | { readonly key: string; readonly held: false };

/** Every error answer. */
export interface ErrorBody {
  readonly error: string;
  readonly message?: string;
  readonly retryAfterMs?: number;
}
