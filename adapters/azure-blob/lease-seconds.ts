import { InvalidArgumentError } from "../../src/errors.js";

/** Azure's bounds on a finite lease, in seconds. */
export const MIN_LEASE_SECONDS = 15;
export const MAX_LEASE_SECONDS = 60;

/** Whole seconds of lease for a TTL: rounded up, at least 15, at most 60. */
export function leaseSeconds(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new InvalidArgumentError(`ttlMs must be a positive integer number of milliseconds, got ${ttlMs}`);
  }
  const seconds = Math.max(MIN_LEASE_SECONDS, Math.ceil(ttlMs / 1000));
  if (seconds > MAX_LEASE_SECONDS) {
    throw new InvalidArgumentError(
      `ttlMs ${ttlMs} is longer than an Azure lease can last (${MAX_LEASE_SECONDS} s); use extend or withLock's auto-extend`,
    );
  }
  return seconds;
}
