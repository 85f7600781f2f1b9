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
  StaleFenceError,
  StaleWriteError,
  UnsupportedError,
  VersionConflictError,
} from "./errors.js";
export type * from "./events.js";
export { createFenceGate, type FenceGate, type FenceGateOptions } from "./fence-gate.js";
export type { ForceReleaseOptions, ForceReleaseResult } from "./force-release.js";
export {
  MAX_VALUE_DEPTH,
  MIN_GUARDED_VALUE_BYTES,
  type UpdateOptions,
  type ValueRead,
  type WriteOptions,
  type WriteResult,
} from "./guarded-value.js";
export {
  AZURE_HTTP_RESPONSE_LIMIT_MS,
  type AzureFunctionsBudgetOptions,
  azureFunctionsBudget,
  DEFAULT_SAFETY_MARGIN_MS,
  type InvocationBudget,
  type InvocationBudgetOptions,
  invocationBudget,
  type LambdaContextLike,
  lambdaBudget,
  WORKERS_WALL_TIME_MS,
  type WorkersInvocation,
  workersBudget,
} from "./invocation.js";
export type { Lease } from "./lease.js";
export { createLocker } from "./locker.js";
export type {
  AcquireOptions,
  CallOptions,
  Locker,
  LockerOptions,
  ResumeOptions,
  TryAcquireOptions,
  WithLockOptions,
  WithLockResult,
} from "./options.js";
export type { Permit, Semaphore, SemaphoreOptions } from "./semaphore.js";
export type { BackoffOptions } from "./timing.js";
export { newToken } from "./token.js";
export type * from "./types.js";
export { MAX_DURATION_MS, MAX_KEY_BYTES, MAX_NAMESPACE_BYTES, validateKey } from "./validate.js";
