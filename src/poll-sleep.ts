/**
 * The sleep between two attempts of a waiting acquire, shared by the lock
 * client and the HTTP service: through the adapter's own `pollWait` where it
 * has one, held to that contract's bound whatever the adapter does.
 *
 * @module
 */
import { abortError, sleep } from "./timing.js";
import type { AdapterPollWaitRequest, LockAdapter } from "./types.js";

/**
 * Sleep through `adapter.pollWait` (else `fallbackMs`). It ends by
 * `remainingMs` even if the adapter's sleep does not (its own sleep is then
 * aborted and its outcome ignored), and rejects with `LockAbortedError` as
 * soon as `signal` aborts, so a caller's wait bound never rests on the
 * adapter keeping its part.
 */
export function sleepBetweenPolls(adapter: LockAdapter, request: AdapterPollWaitRequest): Promise<void> {
  const { signal } = request;
  if (!adapter.pollWait) return sleep(request.fallbackMs, signal);
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const own = new AbortController();
  return new Promise<void>((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      own.abort();
    };
    const onAbort = () => {
      finish();
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(
      () => {
        finish();
        resolve();
      },
      Math.max(0, request.remainingMs),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    (adapter.pollWait as NonNullable<LockAdapter["pollWait"]>).call(adapter, { ...request, signal: own.signal }).then(
      () => {
        finish();
        resolve();
      },
      (error: unknown) => {
        // After the bound or an abort this settles nothing: the outcome is already given.
        finish();
        reject(error);
      },
    );
  });
}
