/**
 * A fence gate: the smallest resource-side fencing, in one process. It
 * remembers the highest fence seen per resource and refuses work carrying a
 * lower one, so a holder that paused past its TTL cannot write after the
 * next holder did. For tests, and for resources that live in one process
 * (a file, a connection, an in-memory cache); stores shared between
 * processes need the check in the store's own write (see
 * `docs/guarded-state.md`).
 *
 * @module
 */
import { InvalidArgumentError, StaleFenceError } from "./errors.js";

/** Options of {@link FenceGate.run} and {@link FenceGate.admit}. */
export interface FenceGateOptions {
  /**
   * `true`: a fence may pass once (a later call with the same fence is
   * refused). Default `false`: one lease may do several writes.
   */
  readonly once?: boolean;
}

/** Created by {@link createFenceGate}. */
export interface FenceGate {
  /**
   * Admit `fence` for `resource` and remember it, or throw
   * {@link StaleFenceError} if a higher fence (or, with `once`, the same one)
   * was admitted before.
   */
  admit(resource: string, fence: number, options?: FenceGateOptions): void;
  /**
   * Run `fn` if `fence` is admitted; fences are checked and recorded before
   * `fn` starts, so of two overlapping runs the older fence is refused.
   *
   * @example
   * ```ts
   * const gate = createFenceGate();
   * await locker.withLock("report", (lease) => gate.run("report-file", lease.fence, () => writeReport()));
   * ```
   */
  run<T>(resource: string, fence: number, fn: () => T | Promise<T>, options?: FenceGateOptions): Promise<T>;
  /** Highest fence admitted for `resource`, 0 if none. */
  highest(resource: string): number;
}

/**
 * Create an in-process fence gate.
 *
 * @example
 * ```ts
 * import { createFenceGate } from "edgelock";
 * const gate = createFenceGate();
 * gate.admit("ledger", lease.fence); // throws StaleFenceError for an overtaken lease
 * ```
 */
export function createFenceGate(): FenceGate {
  const seen = new Map<string, number>();
  const gate: FenceGate = {
    admit(resource, fence, options = {}) {
      if (typeof resource !== "string") throw new InvalidArgumentError("resource must be a string");
      if (!Number.isSafeInteger(fence) || fence < 1) {
        throw new InvalidArgumentError(`fence must be a positive safe integer, got ${String(fence)}`);
      }
      const highest = seen.get(resource) ?? 0;
      if (fence < highest || (options.once === true && fence === highest)) {
        throw new StaleFenceError(resource, fence, highest);
      }
      seen.set(resource, fence);
    },
    async run(resource, fence, fn, options) {
      if (typeof fn !== "function") throw new InvalidArgumentError("run needs a function");
      gate.admit(resource, fence, options);
      return fn();
    },
    highest: (resource) => seen.get(resource) ?? 0,
  };
  return gate;
}
