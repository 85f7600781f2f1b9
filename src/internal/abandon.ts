/**
 * Stop waiting on a promise when a signal aborts, for the calls an adapter
 * cannot cancel (a shared credential or auth-token request, a `pool` query):
 * the caller hears `abandoned(reason)` at once, while the promise runs on,
 * its eventual rejection observed so that it is never unhandled.
 *
 * @module
 */

/**
 * `promise`, or a rejection with `abandoned(signal.reason)` as soon as
 * `signal` aborts (at once when it already has), whichever comes first.
 * Without a signal, `promise` itself.
 *
 * @example
 * ```ts
 * const token = await untilAborted(sharedTokenRequest, signal, (reason) => fetchFailure(reason, "token"));
 * ```
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  abandoned: (reason: unknown) => unknown,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abandoned(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(abandoned(signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
