import type { AttemptSignal } from "./backend-call.js";
import { BackendRejectedError } from "./errors.js";
import type { EventTracker, OperationTracker } from "./event-tracker.js";
import type { LockAdapter } from "./types.js";
import { validateDuration, validateSignal } from "./validate.js";

/** Options of {@link Locker.forceRelease}. */
export interface ForceReleaseOptions {
  /**
   * Free the lock only if it is held under this fence (as `inspect` showed
   * it). Default: whoever holds it now, as a fresh `inspect` sees it.
   */
  readonly fence?: number;
  /** Cancels the operation. */
  readonly signal?: AbortSignal;
}

/** Outcome of {@link Locker.forceRelease}: the fence of the holder freed, or nothing held (under that fence). */
export type ForceReleaseResult = { readonly released: true; readonly fence: number } | { readonly released: false };

interface ForceReleaseContext {
  readonly adapter: LockAdapter;
  readonly telemetry: EventTracker;
  call<T>(operation: (attempt: AttemptSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * Break the lock on `backendKey` without its token. The adapter frees only
 * the holder with the fence named, so a retry after a lost answer, or a
 * break racing a new grant, never frees the next holder.
 */
export function forceRelease(
  ctx: ForceReleaseContext,
  key: string,
  backendKey: string,
  options: ForceReleaseOptions,
): Promise<ForceReleaseResult> {
  const op = ctx.telemetry.start("forceRelease", key);
  return op.settle(breakLock(ctx, op, backendKey, options), (result) => ({
    type: "force_released",
    released: result.released,
    fence: result.released ? result.fence : undefined,
  }));
}

async function breakLock(
  ctx: ForceReleaseContext,
  op: OperationTracker,
  backendKey: string,
  options: ForceReleaseOptions,
): Promise<ForceReleaseResult> {
  const adapter = ctx.adapter;
  if (options.fence !== undefined) validateDuration("fence", options.fence, 1, Number.MAX_SAFE_INTEGER);
  if (typeof adapter.forceRelease !== "function") {
    throw new BackendRejectedError(`the ${adapter.capabilities.name} adapter cannot force-release locks`);
  }
  validateSignal(options.signal);
  let fence = options.fence;
  if (fence === undefined) {
    const state = await ctx.call(
      op.wrap((attempt) => adapter.inspect(backendKey, { signal: attempt.signal })),
      options.signal,
    );
    if (!state.held) return { released: false };
    fence = state.fence;
  }
  const target = fence;
  const result = await ctx.call(
    op.wrap(
      (attempt) =>
        adapter.forceRelease?.({ key: backendKey, fence: target, signal: attempt.signal }) ?? Promise.reject(),
    ),
    options.signal,
  );
  return result.ok ? { released: true, fence: target } : { released: false };
}
