import type { LockAdapter } from "../src/types.js";
import type { TokenGrant } from "./auth.js";

/** Options of `createLockService` (`service/app.ts`). */
export interface LockServiceOptions {
  /** The backend every lock lives in. */
  readonly adapter: LockAdapter;
  /**
   * Accepted bearer tokens: the `EDGELOCK_API_TOKENS` syntax
   * (`token[=tenant[/prefix]]`, comma-separated) or parsed grants. None:
   * every lock route answers 401 (fail closed).
   */
  readonly tokens: string | readonly TokenGrant[] | undefined;
  /**
   * Longest key, UTF-8 bytes. Default 256, as the v1 contract states; up to
   * 384 so that a lock client's namespace (≤ 128 bytes) plus its longest key
   * fits, since `createLocker({ namespace })` sends both as one key.
   */
  readonly maxKeyBytes?: number;
  /** Longest server-side wait one acquire may ask for, ms. Default 30 000. */
  readonly maxWaitMs?: number;
  /** Path the service is mounted under, e.g. `"/api"`. Default `""`. */
  readonly basePath?: string;
  /**
   * Time limit of each backend call, ms (a waiting acquire on a push
   * backend: its wait plus this). Past it the answer is 503
   * `backend_unavailable` with `Retry-After`. Default 5 000.
   */
  readonly backendTimeoutMs?: number;
  /**
   * Most acquires waiting in this instance at once; past it a waiting
   * acquire is answered 429 `too_many_waiters` with `Retry-After`, before
   * any backend request. Default 1 000.
   */
  readonly maxWaiters?: number;
  /** Most acquires one tenant may have waiting in this instance at once (429 past it). Default 100. */
  readonly maxWaitersPerTenant?: number;
  /**
   * Receives backend failures and unexpected errors (answered 503 / 500
   * without detail), and failures of calls whose caller had disconnected.
   * Default: one short line each on `console.error`, without stack or
   * tokens, at most 5 lines per 10 s (the rest counted).
   */
  readonly onError?: (error: unknown) => void;
}
