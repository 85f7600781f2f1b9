import type { LockerOptions } from "./options.js";
import type { BackoffOptions } from "./timing.js";
import type { AdapterCapabilities } from "./types.js";
import {
  MAX_DURATION_MS,
  validateDuration,
  validateFunction,
  validateNamespace,
  validateOptions,
  validateTimeout,
} from "./validate.js";

/** One call's time budget: when its wait ends and when the whole call must have ended. */
export interface Budget {
  readonly waitEndsAt: number;
  readonly endsAt: number;
}

/**
 * A locker's options, each checked once when the locker is made (a typed
 * `InvalidArgumentError` before any backend request) and resolved to its
 * default, with the time budgets every call derives from them.
 */
export class LockerSettings {
  readonly namespace: string;
  /** The longest TTL both the adapter and edgelock allow. */
  readonly maxTtlMs: number;
  readonly defaultTtlMs: number;
  readonly defaultWaitMs: number;
  readonly requestTimeoutMs: number;
  readonly retries: number;
  readonly timeoutMs: number | undefined;
  readonly backoff: BackoffOptions;
  readonly onBackgroundError: (error: unknown) => void;
  readonly onEvent: LockerOptions["onEvent"];

  constructor(options: LockerOptions, capabilities: AdapterCapabilities) {
    this.maxTtlMs = Math.min(capabilities.ttl.maxMs, MAX_DURATION_MS);
    this.namespace = validateNamespace(options.namespace === undefined ? "" : options.namespace);
    this.defaultTtlMs = validateDuration(
      "defaultTtlMs",
      options.defaultTtlMs === undefined ? 30_000 : options.defaultTtlMs,
      1,
      this.maxTtlMs,
    );
    this.defaultWaitMs = validateDuration(
      "defaultWaitMs",
      options.defaultWaitMs === undefined ? 10_000 : options.defaultWaitMs,
      0,
      MAX_DURATION_MS,
    );
    this.requestTimeoutMs = validateDuration(
      "requestTimeoutMs",
      options.requestTimeoutMs === undefined ? 5_000 : options.requestTimeoutMs,
      1,
      MAX_DURATION_MS,
    );
    this.retries = validateDuration("retries", options.retries === undefined ? 2 : options.retries, 0, 10);
    this.timeoutMs = validateTimeout(options.timeoutMs);
    const backoff = validateOptions("backoff", options.backoff);
    if (backoff.baseMs !== undefined) validateDuration("backoff.baseMs", backoff.baseMs, 1, MAX_DURATION_MS);
    if (backoff.maxMs !== undefined) validateDuration("backoff.maxMs", backoff.maxMs, 1, MAX_DURATION_MS);
    this.backoff = backoff;
    this.onBackgroundError =
      options.onBackgroundError === undefined
        ? (error) => console.warn("edgelock:", error)
        : validateFunction("onBackgroundError", options.onBackgroundError);
    this.onEvent = options.onEvent === undefined ? undefined : validateFunction("onEvent", options.onEvent);
  }

  /**
   * A wait ends at `waitMs` (or the call's time limit, if sooner); the call
   * ends by one request timeout after its wait, or at its time limit. A call
   * without a wait (tryAcquire) keeps its retries, up to the time limit.
   */
  budget(started: number, waitMs: number, timeoutMs: number | undefined): Budget {
    const limit = timeoutMs ?? this.timeoutMs ?? Number.POSITIVE_INFINITY;
    const waitEndsAt = started + Math.min(waitMs, limit);
    const endsAt = started + Math.min(waitMs > 0 ? waitMs + this.requestTimeoutMs : Number.POSITIVE_INFINITY, limit);
    return { waitEndsAt, endsAt };
  }

  /**
   * The server-side wait of a push backend's next attempt: what is left of
   * the wait, keeping enough of the call's time for the answer to arrive
   * (a request timeout, or a quarter of what is left when that is shorter).
   */
  serverWait(budget: Budget): number {
    const now = Date.now();
    const left = budget.endsAt - now;
    const reserve = Math.min(this.requestTimeoutMs, left / 4);
    return Math.max(0, Math.floor(Math.min(budget.waitEndsAt - now, left - reserve)));
  }

  /** When a call started at `now` must have ended: its own time limit, else the locker's. */
  endsAt(now: number, timeoutMs: number | undefined): number {
    const limit = timeoutMs ?? this.timeoutMs;
    return limit === undefined ? Number.POSITIVE_INFINITY : now + limit;
  }
}
