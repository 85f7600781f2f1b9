/**
 * Timers, percentiles and request counting for the benchmark.
 *
 * Requests are counted where the library meets the wire: a `fetch` handed
 * to the adapter (or to the peer's SDK), or, for adapters that speak RPC
 * (the Durable Object stub), the adapter boundary itself.
 */
import type { LockAdapter, SemaphoreAdapter } from "../src/types.js";

/** Counts requests; `fetch` is the wrapper to inject. */
export class Meter {
  requests = 0;
  readonly #inner: typeof fetch;

  constructor(inner: typeof fetch = globalThis.fetch) {
    this.#inner = inner;
  }

  readonly fetch: typeof fetch = (input, init) => {
    this.requests++;
    return this.#inner(input, init);
  };

  /** Count adapter calls instead of HTTP requests (RPC transports). */
  wrapAdapter(adapter: LockAdapter): LockAdapter {
    const count = <T>(call: () => Promise<T>): Promise<T> => {
      this.requests++;
      return call();
    };
    return {
      capabilities: adapter.capabilities,
      acquire: (request) => count(() => adapter.acquire(request)),
      extend: (request) => count(() => adapter.extend(request)),
      release: (request) => count(() => adapter.release(request)),
      inspect: (key, options) => count(() => adapter.inspect(key, options)),
      ...(adapter.semaphores ? { semaphores: this.#wrapSemaphores(adapter.semaphores, count) } : {}),
      ...(adapter.dispose ? { dispose: () => adapter.dispose?.() ?? Promise.resolve() } : {}),
    };
  }

  #wrapSemaphores(semaphores: SemaphoreAdapter, count: <T>(call: () => Promise<T>) => Promise<T>): SemaphoreAdapter {
    return {
      capabilities: semaphores.capabilities,
      acquire: (request) => count(() => semaphores.acquire(request)),
      extend: (request) => count(() => semaphores.extend(request)),
      release: (request) => count(() => semaphores.release(request)),
      inspect: (key, options) => count(() => semaphores.inspect(key, options)),
    };
  }
}

/**
 * Route the process-wide `fetch` through `meter` while `fn` runs, for peer
 * SDKs that offer no way to inject one (`@upstash/redis` calls the global).
 */
export async function withGlobalFetch<T>(meter: Meter, fn: () => Promise<T>): Promise<T> {
  const original = globalThis.fetch;
  globalThis.fetch = meter.fetch;
  try {
    return await fn();
  } finally {
    globalThis.fetch = original;
  }
}

/** Monotonic milliseconds with sub-ms resolution. */
export const now = (): number => performance.now();

/** Nearest-rank percentile of `samples` (0 < p ≤ 100); NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Median of a few repeated measurements (e.g. the throughput of each round). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly n: number;
}

export function latency(samples: readonly number[]): Latency {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), n: samples.length };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
