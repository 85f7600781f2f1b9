/**
 * edgelock: distributed TTL locks with fencing tokens for serverless and
 * edge code, over `fetch`.
 *
 * @example
 * ```ts
 * import { createLocker, memoryAdapter } from "edgelock";
 * const locker = createLocker({ adapter: memoryAdapter() });
 * const result = await locker.withLock("nightly-report", async (lease) => runReport(lease.fence));
 * ```
 *
 * @module
 */
export { type MemoryAdapterOptions, memoryAdapter } from "../adapters/memory/index.js";
export type { CampaignOptions, Election, Leader, Leadership, ObserveOptions } from "./election.js";
export {
  BackendError,
  BackendRejectedError,
  EdgelockError,
  type EdgelockErrorCode,
  InvalidArgumentError,
  LockAbortedError,
  LockLostError,
  LockTimeoutError,
  SemaphoreLimitError,
} from "./errors.js";
export type { Lease } from "./lease.js";
export {
  type AcquireOptions,
  createLocker,
  type Locker,
  type LockerOptions,
  type TryAcquireOptions,
} from "./locker.js";
export type { Permit, Semaphore, SemaphoreOptions } from "./semaphore.js";
export type { BackoffOptions } from "./timing.js";
export { newToken } from "./token.js";
export type * from "./types.js";
export { MAX_DURATION_MS, MAX_KEY_BYTES, MAX_NAMESPACE_BYTES, validateKey } from "./validate.js";
export type { WithLockOptions, WithLockResult } from "./with-lock.js";
