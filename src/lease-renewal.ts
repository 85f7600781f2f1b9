import { LockLostError } from "./errors.js";
import type { Lease } from "./lease.js";
import { sleep } from "./timing.js";

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
