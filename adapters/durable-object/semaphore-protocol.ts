/**
 * What travels over RPC for semaphores, between the adapter and the same
 * {@link LockDurableObject} class reached under a separate name per
 * semaphore key (see `semaphoreObjectName`). Plain values, no
 * `cloudflare:workers`.
 *
 * @module
 */
import type {
  AcquireAnswer,
  AcquireCall,
  CancelAnswer,
  ExtendAnswer,
  ExtendCall,
  ReleaseAnswer,
  TokenCall,
} from "./protocol.js";

/** A semaphore acquire: a lock acquire plus the limit. */
export interface SemaphoreAcquireCall extends AcquireCall {
  readonly limit: number;
}

/** A semaphore acquire's answer: the lock's, or live permits under another limit. */
export type SemaphoreAcquireAnswer =
  | AcquireAnswer
  | { readonly ok: false; readonly reason: "limit_mismatch"; readonly limit: number };

/** Live permits, by ascending fence, and how many acquires the object has queued. */
export interface SemaphoreInspectAnswer {
  readonly limit: number | null;
  readonly permits: readonly { readonly fence: number; readonly expiresAt: number; readonly owner?: string }[];
  /** Acquires waiting in the object's queue (operations and tests; the adapter's `inspect` does not pass it on). */
  readonly waiting: number;
}

/** Where a waiting semaphore acquire is sent with `stub.fetch` (see `WAIT_URL`). */
export const SEMAPHORE_WAIT_URL = "https://lock.edgelock.invalid/semaphore-acquire";

/** Largest limit one object holds (all its permits live in one storage value). */
export const DURABLE_OBJECT_MAX_LIMIT = 1_000;

/** The object name of a semaphore key: a control character no validated key contains keeps it apart from lock objects. */
export function semaphoreObjectName(key: string): string {
  return `\u0001semaphore\u0001${key}`;
}

/** The semaphore RPC methods of the object. */
export interface SemaphoreObjectRpc {
  semaphoreAcquire(call: SemaphoreAcquireCall): Promise<SemaphoreAcquireAnswer>;
  semaphoreExtend(call: ExtendCall): Promise<ExtendAnswer>;
  semaphoreRelease(call: TokenCall): Promise<ReleaseAnswer>;
  semaphoreInspect(): Promise<SemaphoreInspectAnswer>;
  cancel(call: TokenCall): Promise<CancelAnswer>;
}
