/**
 * Turns the lock client's work into {@link LockEvent}s. Without a listener
 * every method is a no-op on a shared object (no allocation, no extra
 * `await`), so an unobserved locker pays nothing.
 *
 * @module
 */
import type { AttemptSignal } from "./backend-call.js";
import { EdgelockError, fetchFailure } from "./errors.js";
import type { LockEvent, LockEventError, LockEventListener, LockOperation } from "./events.js";

type Distribute<E> = E extends LockEvent ? Omit<E, "key" | "backend" | "startedAt" | "durationMs" | "requests"> : never;
/** What the end of an operation adds to the fields the tracker fills in. */
export type EndFields = Distribute<Extract<LockEvent, { startedAt: number }>>;
/** A point event without the fields the tracker fills in. */
export type PointFields = Distribute<Exclude<LockEvent, { startedAt: number }>>;

/** One operation in progress. */
export interface OperationTracker {
  /** Acquire attempts so far (the acquire loop counts them). */
  attempts: number;
  /** `operation`, counting each call as a backend request and reporting its failures. */
  wrap<T>(operation: (attempt: AttemptSignal) => Promise<T>): (attempt: AttemptSignal) => Promise<T>;
  /** Emit a point event (a wait between attempts). */
  point(fields: PointFields): void;
  /**
   * Settle with `promise`, emitting `done(value)` or, on rejection,
   * `failed(error)` (default: a `failed` event) once it settles.
   */
  settle<T>(
    promise: Promise<T>,
    done: (value: T) => EndFields,
    failed?: (error: unknown) => EndFields | undefined,
  ): Promise<T>;
}

/** The tracker of an operation nobody observes. */
export const NO_EVENTS: OperationTracker = {
  attempts: 0,
  wrap: (operation) => operation,
  point: () => {},
  settle: (promise) => promise,
};

export class EventTracker {
  readonly #listener: LockEventListener | undefined;
  readonly #backend: string;
  readonly #report: (error: unknown) => void;

  constructor(listener: LockEventListener | undefined, backend: string, report: (error: unknown) => void) {
    this.#listener = listener;
    this.#backend = backend;
    this.#report = report;
  }

  start(operation: LockOperation, key: string): OperationTracker {
    if (!this.#listener) return NO_EVENTS;
    return new Operation(this, operation, key);
  }

  /** A point event outside any operation (a lease lost on its deadline). */
  point(key: string, fields: PointFields): void {
    if (this.#listener) this.emit({ key, backend: this.#backend, ...fields } as LockEvent);
  }

  get backend(): string {
    return this.#backend;
  }

  emit(event: LockEvent): void {
    try {
      this.#listener?.(event);
    } catch (error) {
      this.#report(error);
    }
  }
}

class Operation implements OperationTracker {
  attempts = 0;
  #requests = 0;
  readonly #tracker: EventTracker;
  readonly #operation: LockOperation;
  readonly #key: string;
  readonly #startedAt = Date.now();

  constructor(tracker: EventTracker, operation: LockOperation, key: string) {
    this.#tracker = tracker;
    this.#operation = operation;
    this.#key = key;
  }

  wrap<T>(operation: (attempt: AttemptSignal) => Promise<T>): (attempt: AttemptSignal) => Promise<T> {
    return async (attempt) => {
      const request = ++this.#requests;
      try {
        return await operation(attempt);
      } catch (error) {
        // Read only on failure: an attempt makes its signal lazily.
        const { signal } = attempt;
        // The caller's own abort is not a backend failure; a timeout is.
        const timedOut = (signal.reason as { name?: unknown } | undefined)?.name === "TimeoutError";
        if (!signal.aborted || timedOut) {
          const cause = timedOut ? new EdgelockError("backend_unavailable", "backend request timed out") : error;
          this.point({ type: "backend_error", operation: this.#operation, request, error: describeError(cause) });
        }
        throw error;
      }
    };
  }

  point(fields: PointFields): void {
    this.#tracker.point(this.#key, fields);
  }

  async settle<T>(
    promise: Promise<T>,
    done: (value: T) => EndFields,
    failed?: (error: unknown) => EndFields | undefined,
  ): Promise<T> {
    try {
      const value = await promise;
      this.#end(done(value));
      return value;
    } catch (error) {
      this.#end(failed?.(error) ?? { type: "failed", operation: this.#operation, error: describeError(error) });
      throw error;
    }
  }

  #end(fields: EndFields): void {
    this.#tracker.emit({
      key: this.#key,
      backend: this.#tracker.backend,
      startedAt: this.#startedAt,
      durationMs: Date.now() - this.#startedAt,
      requests: this.#requests,
      ...fields,
    } as LockEvent);
  }
}

/** An error as events show it. Edgelock's messages never contain tokens; others pass through the same wrapper. */
export function describeError(error: unknown): LockEventError {
  const known = error instanceof EdgelockError ? error : fetchFailure(error, "backend request");
  return { name: known.name, code: known.code, message: known.message };
}

/** What {@link acquireOutcome} gives an operation nobody observes: never called, so made once. */
const UNOBSERVED_OUTCOME: ReturnType<typeof acquireOutcome> = {
  done: () => ({ type: "refused", reason: "held", attempts: 0 }),
  failed: () => undefined,
};

/** How an acquire ends, as events: a lease, `null` (held), or a timeout. */
export function acquireOutcome(op: OperationTracker): {
  done: (lease: { fence: number; ttlMs: number } | null) => EndFields;
  failed: (error: unknown) => EndFields | undefined;
} {
  if (op === NO_EVENTS) return UNOBSERVED_OUTCOME;
  return {
    done: (lease: { fence: number; ttlMs: number } | null): EndFields =>
      lease
        ? { type: "acquired", fence: lease.fence, ttlMs: lease.ttlMs, attempts: op.attempts }
        : { type: "refused", reason: "held", attempts: op.attempts },
    failed: (error: unknown): EndFields | undefined =>
      error instanceof EdgelockError && error.code === "timeout"
        ? { type: "refused", reason: "timeout", attempts: op.attempts }
        : undefined,
  };
}
