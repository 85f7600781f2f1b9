import { ExtendRequest, ReleaseRequest } from "./adapter-requests.js";
import type { AttemptSignal } from "./backend-call.js";
import { LockLostError, StaleWriteError } from "./errors.js";
import { describeError, type EventTracker, NO_EVENTS, type OperationTracker } from "./event-tracker.js";
import {
  guardedCapability,
  isStale,
  serializeValue,
  type UpdateOptions,
  updateValue,
  type ValueRead,
  type WriteOptions,
  type WriteResult,
  writeValue,
} from "./guarded-value.js";
import { redactToken } from "./internal/redact.js";
import type { Lease } from "./lease.js";
import type { AdapterGrant, LockAdapter } from "./types.js";
import { validateDuration } from "./validate.js";

/** What a lease needs from the locker that made it. */
export interface LeaseContext {
  readonly adapter: LockAdapter;
  /** Margin subtracted from local deadlines (client-clock adapters). */
  readonly marginMs: number;
  readonly maxTtlMs: number;
  /** Runs one adapter operation with timeouts and ambiguous-outcome retries. */
  call<T>(operation: (attempt: AttemptSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Where failures of clean-up work nobody awaits are reported. */
  report(error: unknown): void;
  /** Where lease events go. */
  readonly telemetry: EventTracker;
}

type LeaseState = "held" | "lost" | "released";

/**
 * A lease's signal and its expiry timer are made only when someone asks for
 * the signal (`withLock` always does): a lease that is taken and released
 * without it costs no controller, no timer and no error object. Without a
 * timer, expiry is noticed on the next use (`remainingMs`, `extend`, or the
 * signal's first read).
 */
export class LeaseImpl implements Lease {
  readonly key: string;
  readonly token: string;
  readonly fence: number;
  #expiresAt: number;
  #ttlMs: number;
  /** The TTL last asked for: a retried grant may report less time left, extensions ask for the full TTL again. */
  #requestedTtlMs: number;
  readonly #ctx: LeaseContext;
  readonly #backendKey: string;
  #controller: AbortController | undefined;
  #state: LeaseState = "held";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #releasing: Promise<void> | undefined;
  readonly #grantedAt = Date.now();

  constructor(
    ctx: LeaseContext,
    key: string,
    backendKey: string,
    token: string,
    grant: AdapterGrant,
    sentAt: number,
    requestedTtlMs: number,
  ) {
    this.#ctx = ctx;
    this.key = key;
    this.#backendKey = backendKey;
    this.token = token;
    this.fence = grant.fence;
    this.#ttlMs = grant.ttlMs;
    this.#requestedTtlMs = requestedTtlMs;
    this.#expiresAt = deadline(ctx, grant, sentAt);
  }

  get expiresAt(): number {
    return this.#expiresAt;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  get signal(): AbortSignal {
    if (this.#controller) return this.#controller.signal;
    const controller = new AbortController();
    this.#controller = controller;
    if (this.#state !== "held") controller.abort(this.#goneError());
    else if (!this.#expired()) this.#schedule();
    return controller.signal;
  }

  remainingMs(): number {
    return this.#state === "held" && !this.#expired() ? Math.max(0, this.#expiresAt - Date.now()) : 0;
  }

  extend(ttlMs: number = this.#requestedTtlMs): Promise<void> {
    const op = this.#ctx.telemetry.start("extend", this.key);
    return op.settle(
      this.#extend(ttlMs, op),
      () => ({ type: "extended", fence: this.fence, ttlMs: this.#ttlMs }),
      (error) => ({ type: "extend_failed", fence: this.fence, error: describeError(error) }),
    );
  }

  async #extend(ttlMs: number, op: OperationTracker): Promise<void> {
    validateDuration("ttlMs", ttlMs, 1, this.#ctx.maxTtlMs);
    if (this.#state !== "held" || this.#expired()) throw this.#goneError();
    const sentAt = Date.now();
    const result = await this.#ctx
      .call(
        op.wrap((attempt) => this.#ctx.adapter.extend(new ExtendRequest(this.#backendKey, this.token, ttlMs, attempt))),
      )
      .catch((error: unknown) => {
        throw redactToken(error, this.token);
      });
    if (!result.ok) {
      const error = new LockLostError(this.key, `lock "${this.key}" is no longer held by this lease; extend refused`);
      this.#end("lost", error, "refused");
      throw error;
    }
    if (this.#state !== "held" || this.#expired()) {
      // The local deadline passed while the extension was in flight: the
      // lease already told its users it was lost, so give the lock back.
      await this.#backendRelease().catch((error: unknown) => this.#ctx.report(error));
      throw this.#goneError();
    }
    this.#ttlMs = result.ttlMs;
    this.#requestedTtlMs = ttlMs;
    this.#expiresAt = deadline(this.#ctx, result, sentAt);
    if (this.#controller) this.#schedule();
  }

  release(): Promise<void> {
    if (this.#state === "released") return Promise.resolve();
    this.#releasing ??= this.#release();
    return this.#releasing;
  }

  async #release(): Promise<void> {
    // A lease already lost was counted then; its release is only clean-up.
    const op = this.#state === "held" ? this.#ctx.telemetry.start("release", this.key) : NO_EVENTS;
    try {
      await op.settle(this.#backendRelease(op), () => ({
        type: "released",
        fence: this.fence,
        heldMs: Date.now() - this.#grantedAt,
      }));
    } catch (error) {
      this.#releasing = undefined;
      throw error;
    }
    this.#end("released");
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  async write(value: unknown, options: WriteOptions = {}): Promise<WriteResult> {
    const json = serializeValue(value, guardedCapability(this.#ctx.adapter).maxBytes);
    return this.#guarded(() => writeValue(this.#ctx, this.#writer(), { json }, options));
  }

  async update<T>(
    fn: (current: T | undefined, read: ValueRead<T>) => T | Promise<T>,
    options: UpdateOptions = {},
  ): Promise<WriteResult & { value: T }> {
    return this.#guarded(() => updateValue(this.#ctx, this.#writer(), fn, options));
  }

  async deleteValue(options: WriteOptions = {}): Promise<WriteResult> {
    return this.#guarded(() => writeValue(this.#ctx, this.#writer(), { json: null }, options));
  }

  #writer() {
    return { key: this.key, backendKey: this.#backendKey, token: this.token };
  }

  /** A refused guarded write means the lock is gone: the lease says so too. */
  async #guarded<T>(write: () => Promise<T>): Promise<T> {
    guardedCapability(this.#ctx.adapter);
    if (this.#state !== "held") throw new StaleWriteError(this.key, false);
    try {
      return await write();
    } catch (error) {
      if (isStale(error)) this.#end("lost", new LockLostError(this.key, error.message, { cause: error }));
      throw redactToken(error, this.token);
    }
  }

  async #backendRelease(op: OperationTracker = NO_EVENTS): Promise<void> {
    // `not_held` means it expired or was released by an earlier, ambiguous
    // attempt: either way this lease no longer holds it, which is the goal.
    try {
      await this.#ctx.call(
        op.wrap((attempt) => this.#ctx.adapter.release(new ReleaseRequest(this.#backendKey, this.token, attempt))),
      );
    } catch (error) {
      throw redactToken(error, this.token);
    }
  }

  #goneError(): LockLostError {
    return new LockLostError(this.key, `lock "${this.key}" was ${this.#state === "released" ? "released" : "lost"}`);
  }

  /** Whether the local deadline has passed; ends the lease as lost if so. */
  #expired(): boolean {
    if (this.#state !== "held") return true;
    if (Date.now() < this.#expiresAt) return false;
    this.#end("lost", new LockLostError(this.key, `lease on "${this.key}" expired`));
    return true;
  }

  #schedule(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const timer = setTimeout(
      () => this.#end("lost", new LockLostError(this.key, `lease on "${this.key}" expired`), "expired"),
      Math.max(0, this.#expiresAt - Date.now()),
    );
    // Node keeps a process alive for a pending timer; a lease must not.
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  /** End the lease; the signal (if anyone has it) aborts with `reason`, made only then. */
  #end(state: "lost" | "released", reason?: LockLostError, why?: "expired" | "refused"): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#state === "released") return;
    if (why && this.#state === "held") {
      const heldMs = Date.now() - this.#grantedAt;
      this.#ctx.telemetry.point(this.key, { type: "lost", fence: this.fence, reason: why, heldMs });
    }
    this.#state = state;
    const controller = this.#controller;
    if (controller && !controller.signal.aborted) {
      controller.abort(reason ?? new LockLostError(this.key, `lock "${this.key}" was released`));
    }
  }
}

/**
 * The local deadline of a grant: from when the request was sent (the backend
 * cannot have started the TTL earlier), plus any time the backend reports it
 * queued the request, minus the skew margin.
 */
function deadline(ctx: LeaseContext, grant: AdapterGrant, sentAt: number): number {
  return sentAt + (grant.waitedMs ?? 0) + grant.ttlMs - ctx.marginMs;
}
