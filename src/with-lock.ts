import { LockLostError, LockTimeoutError } from "./errors.js";
import type { Lease } from "./lease.js";
import type { AcquireOptions, Locker } from "./locker.js";
import { sleep } from "./timing.js";

/** Options of {@link Locker.withLock}. */
export interface WithLockOptions extends AcquireOptions {
  /**
   * Longest wait for the lock, ms. Default `0`: try once, and report
   * `{ ran: false, reason: "locked" }` if it is held (the run-once pattern).
   */
  readonly waitMs?: number;
  /**
   * Keep extending the lease while `fn` runs, each time a third of the TTL
   * has passed. Default `true`. If an extension fails for good, the lease's
   * signal aborts so `fn` can stop.
   */
  readonly autoExtend?: boolean;
}

/** Outcome of {@link Locker.withLock}: it ran, or it did not and why. */
export type WithLockResult<T> =
  | { readonly ran: true; readonly value: T; readonly fence: number }
  | { readonly ran: false; readonly reason: "locked" | "timeout" };

export async function withLock<T>(
  locker: Locker & { report(error: unknown): void },
  key: string,
  fn: (lease: Lease) => Promise<T> | T,
  options: WithLockOptions,
): Promise<WithLockResult<T>> {
  if (typeof fn !== "function") throw new TypeError("withLock needs a function to run");
  let lease: Lease | null;
  if ((options.waitMs ?? 0) > 0) {
    try {
      lease = await locker.acquire(key, options);
    } catch (error) {
      if (error instanceof LockTimeoutError) return { ran: false, reason: "timeout" };
      throw error;
    }
  } else {
    lease = await locker.tryAcquire(key, options);
    if (!lease) return { ran: false, reason: "locked" };
  }

  const stop = new AbortController();
  const extending = options.autoExtend === false ? Promise.resolve() : keepExtended(lease, stop.signal, locker);
  let value: T;
  try {
    value = await fn(lease);
  } catch (error) {
    stop.abort();
    await extending;
    await lease.release().catch((releaseError: unknown) => locker.report(releaseError));
    throw error;
  }
  stop.abort();
  await extending;
  const lost = lease.signal.aborted;
  await lease.release().catch((releaseError: unknown) => locker.report(releaseError));
  if (lost) {
    // fn finished, but not under the lock the whole time: another holder may
    // have run concurrently. That is never a silent success.
    throw new LockLostError(key, `lock "${key}" was lost while the function ran; its work was not protected`, {
      cause: lease.signal.reason,
    });
  }
  return { ran: true, value, fence: lease.fence };
}

/**
 * Extend whenever a third of the TTL has passed; after a failed attempt try
 * again sooner, as long as the lease is still valid. Ends when `stop` aborts
 * or the lease is lost.
 */
export async function keepExtended(
  lease: Lease,
  stop: AbortSignal,
  locker: { report(error: unknown): void },
): Promise<void> {
  const both = AbortSignal.any([stop, lease.signal]);
  let failures = 0;
  while (!both.aborted) {
    const wait = failures === 0 ? lease.ttlMs / 3 : Math.min(lease.remainingMs() / 3, 1_000);
    try {
      await sleep(wait, both);
    } catch {
      return; // stopped or lost: nothing left to extend
    }
    try {
      await lease.extend();
      failures = 0;
    } catch (error) {
      if (error instanceof LockLostError) return; // the lease signal already tells fn
      failures++;
      locker.report(error);
    }
  }
}
