import type { SemaphoreAdapter } from "../../src/types.js";

type Through = <T>(operation: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/** The semaphore operations of an adapter counted and faulted at the adapter boundary, as `Transport.wrap` does for locks. */
export function wrapSemaphores(
  semaphores: SemaphoreAdapter | undefined,
  through: Through,
): { semaphores?: SemaphoreAdapter } {
  if (!semaphores) return {};
  return {
    semaphores: {
      capabilities: semaphores.capabilities,
      acquire: (request) => through(() => semaphores.acquire(request), request.signal),
      extend: (request) => through(() => semaphores.extend(request), request.signal),
      release: (request) => through(() => semaphores.release(request), request.signal),
      inspect: (key, options) => through(() => semaphores.inspect(key, options), options?.signal),
    },
  };
}
