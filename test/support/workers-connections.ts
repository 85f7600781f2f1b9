import type { Locker } from "../../src/index.js";
import { sleep, until } from "./timing.js";

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

/** What {@link holdWaitRelease} saw. */
export interface HoldWaitRelease {
  /** How long the holder's releases took, once the waits were blocked. */
  readonly releasedMs: number;
  /** The holder's fences, and each waiter's grant's, key by key. */
  readonly heldFences: readonly number[];
  readonly grantedFences: readonly number[];
}

/**
 * The scenario of one invocation that holds `keys`, waits for each of them
 * (`waitMs`, a holder TTL longer than that), and, once `blocked` holds for
 * its waiting requests, releases what it holds: a release queued behind the
 * waits would take until they ran out. Every grant is released afterwards.
 */
export async function holdWaitRelease(
  locker: Locker,
  wire: WorkersConnections,
  keys: readonly string[],
  options: { readonly waitMs: number; readonly blocked: (waiting: number) => boolean },
): Promise<HoldWaitRelease> {
  const held = await Promise.all(keys.map((key) => locker.tryAcquire(key, { ttlMs: options.waitMs * 3 })));
  if (held.some((lease) => lease === null)) throw new Error("a key of the scenario was already held");
  const waits = keys.map((key) => locker.acquire(key, { ttlMs: 10_000, waitMs: options.waitMs }));
  await until(() => options.blocked(wire.waiting()), 10_000);
  // Every waiter that will block has blocked by now.
  await sleep(300);
  const started = Date.now();
  await Promise.all(held.map((lease) => lease?.release()));
  const releasedMs = Date.now() - started;
  const granted = await Promise.all(waits);
  await Promise.all(granted.map((lease) => lease.release()));
  return {
    releasedMs,
    heldFences: held.map((lease) => lease?.fence ?? 0),
    grantedFences: granted.map((lease) => lease.fence),
  };
}
