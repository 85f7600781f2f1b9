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
   * Receives backend failures and unexpected errors (answered 503 / 500
   * without detail). Default `console.error`.
   */
  readonly onError?: (error: unknown) => void;
}
