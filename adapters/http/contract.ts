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
export { TOKEN_PATTERN } from "../../src/internal/patterns.js";
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

/** Largest guarded value the service accepts, JSON bytes, whatever its backend allows (1 MiB). */
export const MAX_SERVICE_VALUE_BYTES = 1_048_576;
/** Room for the other fields of a `PUT /v1/locks/{key}/value` body, bytes. */
export const VALUE_BODY_OVERHEAD_BYTES = 1_024;

/** Body of `PUT /v1/locks/{key}/value`: `value` to write, or `delete: true`. */
export interface WriteValueBody {
  readonly token: string;
  readonly value?: unknown;
  readonly delete?: true;
  /** Id of this write, the same on retries, so a retry after a lost answer is applied once. */
  readonly writeId?: string;
  readonly expectedVersion?: number;
}

/** 200 answer of `GET /v1/locks/{key}/value`; `value` absent when never written or deleted. */
export interface ValueBody {
  readonly key: string;
  readonly value?: unknown;
  readonly version: number;
  readonly fence: number;
}

/** 200 answer of `PUT /v1/locks/{key}/value`. */
export interface WrittenBody {
  readonly key: string;
  readonly version: number;
  readonly fence: number;
}
