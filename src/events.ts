/**
 * What the lock client reports to {@link LockerOptions.onEvent}: one event
 * per finished operation, plus point events (a poll that waits, a lease that
 * is lost, a failed backend request). Events carry keys, fences, durations
 * and counts, never owner tokens. `edgelock/otel` turns them into spans and
 * metrics.
 *
 * @module
 */

/** The lock client's operations, as events and spans name them. */
export type LockOperation = "acquire" | "extend" | "release" | "inspect" | "forceRelease";

/** An error as events describe it: class, code and message (messages never contain tokens). */
export interface LockEventError {
  readonly name: string;
  /** `EdgelockError` code, e.g. `backend_unavailable`, `lock_lost`. */
  readonly code: string;
  readonly message: string;
}

/** Fields of every event. */
interface EventBase {
  /** The key as the caller gave it (without the namespace). */
  readonly key: string;
  /** The adapter's `capabilities.name`, e.g. `"upstash"`. */
  readonly backend: string;
}

/** Fields of the event that ends an operation. */
interface OperationEnd extends EventBase {
  /** Epoch ms when the operation started. */
  readonly startedAt: number;
  /** How long the operation took; for an acquire, the wait for the lock. */
  readonly durationMs: number;
  /** Backend requests sent, retries included (adapter calls; see `requestsPerOperation` for their HTTP cost). */
  readonly requests: number;
}

/** `tryAcquire`/`acquire`/`withLock` got the lock. */
export interface AcquiredEvent extends OperationEnd {
  readonly type: "acquired";
  readonly fence: number;
  readonly ttlMs: number;
  /** Acquire attempts (polls, or server-side waits); `1` when the lock was free. */
  readonly attempts: number;
}

/** The lock stayed held: `tryAcquire` answered `null` (`"held"`), or `acquire` waited `waitMs` (`"timeout"`). */
export interface RefusedEvent extends OperationEnd {
  readonly type: "refused";
  readonly reason: "held" | "timeout";
  readonly attempts: number;
}

/** An acquire found the lock held and sleeps before its next attempt. */
export interface WaitedEvent extends EventBase {
  readonly type: "waited";
  /** The attempt that was refused, from 1. */
  readonly attempt: number;
  readonly delayMs: number;
  /** The holder's time left, when the backend tells. */
  readonly retryAfterMs?: number | undefined;
}

/** A lease was extended. */
export interface ExtendedEvent extends OperationEnd {
  readonly type: "extended";
  readonly fence: number;
  readonly ttlMs: number;
}

/** An extension failed: the backend failed (the lease may still be held) or refused (then `lost` follows). */
export interface ExtendFailedEvent extends OperationEnd {
  readonly type: "extend_failed";
  readonly fence: number;
  readonly error: LockEventError;
}

/** A lease ended without release: its deadline passed, or an extension was refused. */
export interface LostEvent extends EventBase {
  readonly type: "lost";
  readonly fence: number;
  readonly reason: "expired" | "refused";
  /** From the grant to the loss. */
  readonly heldMs: number;
}

/** A held lease was released. */
export interface ReleasedEvent extends OperationEnd {
  readonly type: "released";
  readonly fence: number;
  /** From the grant to the release. */
  readonly heldMs: number;
}

/** `inspect` answered. */
export interface InspectedEvent extends OperationEnd {
  readonly type: "inspected";
  readonly held: boolean;
}

/** `forceRelease` answered: `fence` is the holder broken, absent when nothing was. */
export interface ForceReleasedEvent extends OperationEnd {
  readonly type: "force_released";
  readonly released: boolean;
  readonly fence?: number | undefined;
}

/** An operation other than extend failed (it threw). */
export interface FailedEvent extends OperationEnd {
  readonly type: "failed";
  readonly operation: LockOperation;
  readonly error: LockEventError;
}

/** One backend request failed or timed out; the operation may retry it (same token). */
export interface BackendErrorEvent extends EventBase {
  readonly type: "backend_error";
  readonly operation: LockOperation;
  /** The operation's request that failed, from 1. */
  readonly request: number;
  readonly error: LockEventError;
}

/** Everything {@link LockerOptions.onEvent} receives. */
export type LockEvent =
  | AcquiredEvent
  | RefusedEvent
  | WaitedEvent
  | ExtendedEvent
  | ExtendFailedEvent
  | LostEvent
  | ReleasedEvent
  | InspectedEvent
  | ForceReleasedEvent
  | FailedEvent
  | BackendErrorEvent;

/** A listener of {@link LockEvent}s. Called synchronously; it must not throw (a throw is reported, not propagated). */
export type LockEventListener = (event: LockEvent) => void;
