import { LockLostError, LockTimeoutError } from "./errors.js";
import type { Lease } from "./lease.js";
import { keepExtended } from "./lease-renewal.js";
import type { Locker, WithLockOptions, WithLockResult } from "./options.js";
import { MAX_DURATION_MS, validateDuration, validateFlag, validateFunction, validateOptions } from "./validate.js";

export type { WithLockOptions, WithLockResult } from "./options.js";

export async function withLock<T>(
  locker: Locker & { report(error: unknown): void },
  key: string,
  fn: (lease: Lease) => Promise<T> | T,
  options: WithLockOptions | undefined,
): Promise<WithLockResult<T>> {
  validateFunction("withLock's fn", fn);
  const checked = validateOptions("withLock options", options);
  const waitMs = validateDuration("waitMs", checked.waitMs === undefined ? 0 : checked.waitMs, 0, MAX_DURATION_MS);
  const autoExtend = validateFlag("autoExtend", checked.autoExtend) ?? true;
  let lease: Lease | null;
  if (waitMs > 0) {
    try {
      lease = await locker.acquire(key, { ...checked, autoExtend: false });
    } catch (error) {
      if (error instanceof LockTimeoutError) return { ran: false, reason: "timeout" };
      throw error;
    }
  } else {
    lease = await locker.tryAcquire(key, { ...checked, autoExtend: false });
    if (!lease) return { ran: false, reason: "locked" };
  }

  const stop = new AbortController();
  const extending = autoExtend ? keepExtended(lease, stop.signal, locker) : Promise.resolve();
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
