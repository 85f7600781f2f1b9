/**
 * A `fetch` that keeps Cloudflare's rule for one Worker invocation: at most
 * six requests waiting for response headers at once; a seventh waits until
 * one of them has its headers. Local workerd does not enforce it, so tests
 * put it in front of the real backend's `fetch` to see what production
 * would do. It also tells which requests wait inside the backend.
 */
export interface WorkersConnections {
  readonly fetch: typeof fetch;
  /** Requests waiting for headers now, and the most there have been. */
  readonly open: () => number;
  readonly maxOpen: () => number;
  /** Requests matching `waiting` (given to the constructor) in flight now, the most at once, and sent in all. */
  readonly waiting: () => number;
  readonly maxWaiting: () => number;
  readonly waitingSent: () => number;
}

export const WORKERS_CONNECTIONS = 6;

export function workersConnections(
  inner: typeof fetch,
  isWaiting: (body: string) => boolean,
  limit = WORKERS_CONNECTIONS,
): WorkersConnections {
  let open = 0;
  let maxOpen = 0;
  let waiting = 0;
  let maxWaiting = 0;
  let waitingSent = 0;
  const queue: (() => void)[] = [];
  const slot = async (signal: AbortSignal | null | undefined) => {
    if (open >= limit) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener("abort", quit);
          resolve();
        };
        const quit = () => {
          const at = queue.indexOf(go);
          if (at >= 0) queue.splice(at, 1);
          reject(signal?.reason);
        };
        queue.push(go);
        signal?.addEventListener("abort", quit, { once: true });
      });
    }
    open++;
    maxOpen = Math.max(maxOpen, open);
  };
  const free = () => {
    open--;
    queue.shift()?.();
  };
  const send: typeof fetch = async (input, init) => {
    const blocking = isWaiting(typeof init?.body === "string" ? init.body : "");
    await slot(init?.signal);
    if (blocking) {
      waiting++;
      waitingSent++;
      maxWaiting = Math.max(maxWaiting, waiting);
    }
    try {
      // Headers have arrived once fetch resolves: the connection no longer counts.
      return await inner(input, init);
    } finally {
      if (blocking) waiting--;
      free();
    }
  };
  return {
    fetch: send,
    open: () => open,
    maxOpen: () => maxOpen,
    waiting: () => waiting,
    maxWaiting: () => maxWaiting,
    waitingSent: () => waitingSent,
  };
}
