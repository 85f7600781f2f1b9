import type { LockAdapter } from "../../src/types.js";

/** An adapter and the number of calls made on it so far. */
export interface CountedAdapter {
  readonly adapter: LockAdapter;
  calls(): number;
}

/**
 * Count the calls a service makes on its adapter (acquire, extend, release,
 * inspect), e.g. its server-side polls during a waiting acquire.
 *
 * @example
 * ```ts
 * const backend = countingCalls(memoryAdapter());
 * const app = createLockService({ adapter: backend.adapter, tokens: "t" });
 * ```
 */
export function countingCalls(inner: LockAdapter): CountedAdapter {
  let calls = 0;
  const counted = <T>(result: () => Promise<T>): Promise<T> => {
    calls++;
    return result();
  };
  return {
    calls: () => calls,
    adapter: {
      capabilities: inner.capabilities,
      acquire: (request) => counted(() => inner.acquire(request)),
      extend: (request) => counted(() => inner.extend(request)),
      release: (request) => counted(() => inner.release(request)),
      inspect: (key, options) => counted(() => inner.inspect(key, options)),
      ...(inner.readValue && inner.writeValue
        ? {
            readValue: (key, options) => counted(() => inner.readValue?.(key, options) as never),
            writeValue: (request) => counted(() => inner.writeValue?.(request) as never),
          }
        : {}),
      // Passed through uncounted: without them the service answers 404 to every semaphore route.
      ...(inner.semaphores ? { semaphores: inner.semaphores } : {}),
    },
  };
}
