/**
 * Leases bounded by a serverless invocation. A function that waits for a
 * lock past its own timeout is killed while queuing or holding it; with a
 * budget, `acquire` never waits past the invocation's end minus a safety
 * margin, TTLs never reach past the end, and `withLock` stops extending in
 * time for the lease to free itself within its TTL once the invocation is
 * gone. Platform numbers: docs/invocation.md.
 *
 * @module
 */
import { InvalidArgumentError } from "./errors.js";
import type { AcquireOptions } from "./locker.js";
import type { WithLockOptions } from "./with-lock.js";

/** Default {@link InvocationBudgetOptions.safetyMarginMs}: time left for releasing and answering. */
export const DEFAULT_SAFETY_MARGIN_MS = 1_000;
/** TTL a budget uses when the options name none (the lock client's own default). */
const DEFAULT_TTL_MS = 30_000;

/** Options of {@link invocationBudget}. */
export interface InvocationBudgetOptions {
  /** When the invocation ends (is killed), epoch ms on this machine's clock. */
  readonly deadline: number;
  /**
   * Time kept free before the deadline for work after the lock (release,
   * the response). Waits end and extensions stop this long before the end.
   * Default 1 000.
   */
  readonly safetyMarginMs?: number;
}

/** The time an invocation has left, and lock options bounded by it. */
export interface InvocationBudget {
  /** The invocation's end, epoch ms. */
  readonly deadline: number;
  readonly safetyMarginMs: number;
  /** Epoch ms after which no lock work starts: `deadline - safetyMarginMs`. */
  readonly cutoff: number;
  /** Milliseconds until {@link cutoff}, or 0. */
  remainingMs(): number;
  /** Aborts at {@link cutoff}: hand it to work that must stop in time. */
  readonly signal: AbortSignal;
  /**
   * `options` for `acquire`, `tryAcquire` or `withLock`, bounded: `waitMs`
   * at most {@link remainingMs} (and a signal that ends any wait at the
   * cutoff), `ttlMs` (default 30 s) at most the time left until the
   * deadline, and `extendUntil` the cutoff.
   */
  bound<T extends AcquireOptions & WithLockOptions>(
    options?: T,
  ): T & { ttlMs: number; extendUntil: number; signal: AbortSignal };
}

/**
 * A budget for an invocation that ends at `deadline`.
 *
 * @example
 * ```ts
 * const budget = invocationBudget({ deadline: Date.now() + 30_000 });
 * await locker.withLock("report", run, budget.bound({ ttlMs: 20_000, waitMs: 10_000 }));
 * ```
 */
export function invocationBudget(options: InvocationBudgetOptions): InvocationBudget {
  const deadline = options?.deadline;
  if (typeof deadline !== "number" || !Number.isFinite(deadline)) {
    throw new InvalidArgumentError("deadline must be an epoch time in milliseconds");
  }
  const safetyMarginMs = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  if (!Number.isSafeInteger(safetyMarginMs) || safetyMarginMs < 0) {
    throw new InvalidArgumentError(`safetyMarginMs must be a whole number of milliseconds, got ${safetyMarginMs}`);
  }
  const cutoff = deadline - safetyMarginMs;
  const remainingMs = () => Math.max(0, Math.floor(cutoff - Date.now()));
  const signal = AbortSignal.timeout(Math.max(0, Math.min(remainingMs(), 2_147_483_647)));
  return {
    deadline,
    safetyMarginMs,
    cutoff,
    remainingMs,
    signal,
    bound(given) {
      const base = (given ?? {}) as AcquireOptions & WithLockOptions;
      const left = remainingMs();
      const untilEnd = Math.max(1, Math.floor(deadline - Date.now()));
      const ttlMs = Math.max(1, Math.min(base.ttlMs ?? DEFAULT_TTL_MS, untilEnd));
      return {
        ...base,
        ...(base.waitMs === undefined ? {} : { waitMs: Math.min(base.waitMs, left) }),
        ttlMs,
        extendUntil: Math.min(base.extendUntil ?? cutoff, cutoff),
        signal: base.signal ? AbortSignal.any([base.signal, signal]) : signal,
      } as never;
    },
  };
}

/** The part of a Lambda handler's `context` the budget reads. */
export interface LambdaContextLike {
  getRemainingTimeInMillis(): number;
}

/**
 * The budget of an AWS Lambda invocation, from
 * `context.getRemainingTimeInMillis()` (the function's configured timeout,
 * 3 s by default, up to 900 s).
 *
 * @example
 * ```ts
 * export const handler = async (event: unknown, context: Context) => {
 *   const budget = lambdaBudget(context);
 *   return locker.withLock("job", work, budget.bound({ waitMs: 5_000 }));
 * };
 * ```
 */
export function lambdaBudget(context: LambdaContextLike, options: { safetyMarginMs?: number } = {}): InvocationBudget {
  if (typeof context?.getRemainingTimeInMillis !== "function") {
    throw new InvalidArgumentError("lambdaBudget needs the handler's context (with getRemainingTimeInMillis)");
  }
  return invocationBudget({ deadline: Date.now() + context.getRemainingTimeInMillis(), ...options });
}

/** Options of {@link azureFunctionsBudget}. */
export interface AzureFunctionsBudgetOptions {
  /**
   * The app's `functionTimeout` from host.json, as `"hh:mm:ss"` or ms.
   * Default `"00:05:00"`, the Consumption plan's default (Flex Consumption,
   * Premium and Dedicated default to 30 minutes).
   */
  readonly functionTimeout?: string | number;
  /** An HTTP trigger: Azure's load balancer ends the request after 230 s, whatever the timeout. */
  readonly http?: boolean;
  /** When the invocation started, epoch ms. Default: now (call it first thing in the handler). */
  readonly startedAt?: number;
  readonly safetyMarginMs?: number;
}

/** Azure's HTTP response limit (the load balancer's idle timeout), ms. */
export const AZURE_HTTP_RESPONSE_LIMIT_MS = 230_000;

/**
 * The budget of an Azure Functions invocation. The runtime does not tell a
 * function its time left, so the budget counts the app's `functionTimeout`
 * from the start of the invocation.
 *
 * @example
 * ```ts
 * app.http("report", { handler: async () => {
 *   const budget = azureFunctionsBudget({ functionTimeout: "00:10:00", http: true });
 *   ...
 * } });
 * ```
 */
export function azureFunctionsBudget(options: AzureFunctionsBudgetOptions = {}): InvocationBudget {
  const timeoutMs = parseTimeout(options.functionTimeout ?? "00:05:00");
  const limitMs = options.http ? Math.min(timeoutMs, AZURE_HTTP_RESPONSE_LIMIT_MS) : timeoutMs;
  const startedAt = options.startedAt ?? Date.now();
  return invocationBudget({
    deadline: startedAt + limitMs,
    ...(options.safetyMarginMs === undefined ? {} : { safetyMarginMs: options.safetyMarginMs }),
  });
}

function parseTimeout(value: string | number): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
  const match = typeof value === "string" ? /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(value) : null;
  if (!match) {
    throw new InvalidArgumentError(`functionTimeout must be "hh:mm:ss" (as in host.json) or ms, got ${String(value)}`);
  }
  const [, days, hours, minutes, seconds] = match.map((part) => Number(part ?? 0));
  return ((((days ?? 0) * 24 + (hours ?? 0)) * 60 + (minutes ?? 0)) * 60 + (seconds ?? 0)) * 1000;
}

/** What a Cloudflare Worker invocation is, for {@link workersBudget}. */
export type WorkersInvocation =
  /** A Cron Trigger's `scheduled` handler: 15 minutes of wall time. */
  | "scheduled"
  /** A Queue consumer's `queue` handler: 15 minutes of wall time. */
  | "queue"
  /** A Durable Object `alarm`: 15 minutes of wall time. */
  | "alarm"
  /** Work in `ctx.waitUntil` after the response was sent: 30 s. */
  | "waitUntil";

/** Wall-time limits of Cloudflare Workers invocations, ms (see docs/invocation.md). */
export const WORKERS_WALL_TIME_MS: Readonly<Record<WorkersInvocation, number>> = {
  scheduled: 15 * 60_000,
  queue: 15 * 60_000,
  alarm: 15 * 60_000,
  waitUntil: 30_000,
};

/**
 * The budget of a Cloudflare Workers invocation, where its end is knowable.
 * A `fetch` handler has no wall-time limit while its client stays
 * connected (only CPU time is limited), so there pass `limitMs`: the time
 * your client waits.
 *
 * @example
 * ```ts
 * async scheduled(controller, env, ctx) {
 *   const budget = workersBudget({ invocation: "scheduled", startedAt: controller.scheduledTime });
 *   ...
 * }
 * ```
 */
export function workersBudget(options: {
  invocation?: WorkersInvocation;
  limitMs?: number;
  startedAt?: number;
  safetyMarginMs?: number;
}): InvocationBudget {
  const limitMs =
    options?.limitMs ?? (options?.invocation === undefined ? undefined : WORKERS_WALL_TIME_MS[options.invocation]);
  if (limitMs === undefined || !Number.isSafeInteger(limitMs) || limitMs <= 0) {
    throw new InvalidArgumentError(
      `workersBudget needs invocation (${Object.keys(WORKERS_WALL_TIME_MS).join(", ")}) or limitMs: a fetch handler's end is not knowable`,
    );
  }
  return invocationBudget({
    deadline: (options.startedAt ?? Date.now()) + limitMs,
    ...(options.safetyMarginMs === undefined ? {} : { safetyMarginMs: options.safetyMarginMs }),
  });
}
