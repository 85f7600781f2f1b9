/**
 * A time limit on every backend call the service makes. Adapters honour
 * their `signal`, but a backend that accepts the connection and never
 * answers, or sends headers and drips the body, must not hold a request
 * (and its memory) for longer than the limit whatever the adapter does: the
 * call is raced against a timer as well as aborted.
 *
 * @module
 */
import { BackendError } from "../src/errors.js";
import type { LockAdapter, SemaphoreAdapter } from "../src/types.js";

/** Default limit of one backend call, ms. */
export const DEFAULT_BACKEND_TIMEOUT_MS = 5_000;

/**
 * `adapter` with every call limited to `limitMs` (a waiting acquire on a
 * push backend: its wait plus `limitMs`). Past the limit the call fails with
 * a {@link BackendError} (`maybeApplied`: the backend may still apply it),
 * which the service answers 503 `backend_unavailable` with `Retry-After`.
 */
export function withTimeLimit(adapter: LockAdapter, limitMs: number): LockAdapter {
  const limited = <T>(what: string, ms: number, signal: AbortSignal | undefined, run: (s: AbortSignal) => Promise<T>) =>
    race(what, ms, signal, run);
  return {
    capabilities: adapter.capabilities,
    acquire: (request) => {
      const wait = adapter.capabilities.pushWakeups ? (request.waitMs ?? 0) : 0;
      return limited("acquire", limitMs + wait, request.signal, (signal) => adapter.acquire({ ...request, signal }));
    },
    extend: (request) => limited("extend", limitMs, request.signal, (signal) => adapter.extend({ ...request, signal })),
    release: (request) =>
      limited("release", limitMs, request.signal, (signal) => adapter.release({ ...request, signal })),
    inspect: (key, options = {}) =>
      limited("inspect", limitMs, options.signal, (signal) => adapter.inspect(key, { ...options, signal })),
    ...guardedWithTimeLimit(adapter, limitMs),
    ...(adapter.forceRelease
      ? {
          forceRelease: (request) =>
            race("break", limitMs, request.signal, (signal) =>
              (adapter.forceRelease as NonNullable<LockAdapter["forceRelease"]>).call(adapter, { ...request, signal }),
            ),
        }
      : {}),
    ...(adapter.semaphores ? { semaphores: semaphoresWithTimeLimit(adapter.semaphores, limitMs) } : {}),
    // A sleep, not a call to limit: service/wait.ts holds it to its remainingMs (src/poll-sleep.ts).
    ...(adapter.pollWait
      ? { pollWait: (request) => (adapter.pollWait as NonNullable<LockAdapter["pollWait"]>).call(adapter, request) }
      : {}),
  };
}

/** The semaphore calls, limited the same way (a push wait gets its wait on top). */
function semaphoresWithTimeLimit(semaphores: SemaphoreAdapter, limitMs: number): SemaphoreAdapter {
  return {
    capabilities: semaphores.capabilities,
    acquire: (request) => {
      const wait = semaphores.capabilities.pushWakeups ? (request.waitMs ?? 0) : 0;
      return race("semaphore acquire", limitMs + wait, request.signal, (signal) =>
        semaphores.acquire({ ...request, signal }),
      );
    },
    extend: (request) =>
      race("semaphore extend", limitMs, request.signal, (signal) => semaphores.extend({ ...request, signal })),
    release: (request) =>
      race("semaphore release", limitMs, request.signal, (signal) => semaphores.release({ ...request, signal })),
    inspect: (key, options = {}) =>
      race("semaphore inspect", limitMs, options.signal, (signal) => semaphores.inspect(key, { ...options, signal })),
    // A sleep, as the lock's: held to its remainingMs by the caller.
    ...(semaphores.pollWait ? { pollWait: semaphores.pollWait.bind(semaphores) } : {}),
  };
}

/** The guarded value's calls, limited the same way (absent when the adapter has none). */
function guardedWithTimeLimit(adapter: LockAdapter, limitMs: number): Pick<LockAdapter, "readValue" | "writeValue"> {
  const { readValue, writeValue } = adapter;
  if (!readValue || !writeValue) return {};
  return {
    readValue: (key, options = {}) =>
      race("read value", limitMs, options.signal, (signal) => readValue.call(adapter, key, { ...options, signal })),
    writeValue: (request) =>
      race("write value", limitMs, request.signal, (signal) => writeValue.call(adapter, { ...request, signal })),
  };
}

async function race<T>(
  what: string,
  ms: number,
  outer: AbortSignal | undefined,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener("abort", onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new BackendError(`backend ${what} took longer than ${ms} ms`, {
        maybeApplied: true,
        retryable: true,
      });
      controller.abort(error);
      reject(error);
    }, ms);
  });
  const call = run(controller.signal);
  try {
    return await Promise.race([call, expired]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onAbort);
    // The losing call may still settle; its outcome is no longer anyone's.
    call.catch(() => undefined);
  }
}
