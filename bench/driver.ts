/**
 * One shape for every lock library under test, so the same scenario code
 * drives edgelock and its peers.
 *
 * A driver is a library on a backend; a contender is one instance of it (its
 * own adapter or SDK client: connections, batcher, caches), as one process
 * of a deployment has. The fair runs give every worker its own contender;
 * the shared runs give all workers one.
 */
import { createLocker, type LockAdapter, type LockerOptions } from "../src/index.js";
import { config } from "./config.js";
import type { Meter } from "./measure.js";

/** A lock (or semaphore permit) held by a contender. */
export interface Held {
  extend(ttlMs: number): Promise<void>;
  release(): Promise<void>;
}

/** One instance of a library, as one process would have it. */
export interface Contender {
  /** Take `key` if free, else `null`. */
  tryAcquire(key: string, ttlMs: number): Promise<Held | null>;
  /** Wait up to `waitMs` for `key`; throws if still held then. */
  acquire(key: string, ttlMs: number, waitMs: number): Promise<Held>;
  /** Wait up to `waitMs` for one of `limit` permits of semaphore `key`; present when {@link LockDriver.semaphores}. */
  acquirePermit?(key: string, limit: number, ttlMs: number, waitMs: number): Promise<Held>;
  close(): Promise<void>;
}

export interface LockDriver {
  /** Row label, e.g. `edgelock upstash`, `@upstash/lock`. */
  readonly name: string;
  /** Backend it runs against, e.g. `Upstash REST → redis 7`. */
  readonly backend: string;
  /**
   * What a "request" is: an HTTP request through the injected `fetch`, or,
   * where there is no HTTP (RPC to a Durable Object, in-process memory), an
   * adapter call.
   */
  readonly counting: "fetch" | "rpc" | "in-process";
  /** Counts the requests of every contender of this driver. */
  readonly meter: Meter;
  /** Whether the library has semaphores on this backend (edgelock: the adapter declares `semaphores`). */
  readonly semaphores: boolean;
  /** The instance all workers share in the shared runs (and the uncontended scenario's). */
  readonly shared: Contender;
  /** A new instance on the same backend and namespace, counted by {@link meter}. */
  contender(): Contender;
  /** Runs every scenario of this driver (peers that need the global `fetch` routed through the meter). */
  scope?<T>(fn: () => Promise<T>): Promise<T>;
  /** Closes {@link shared} and what the driver itself holds (contenders from {@link contender} are closed by their user). */
  close(): Promise<void>;
}

/**
 * Drive an edgelock adapter through the public lock client, as users do:
 * validation, token generation, timeouts and backoff are all included.
 * `adapter` builds a new adapter per contender; where the adapter is the
 * backend itself (memory), it returns the same one, and each contender has
 * its own lock client on it.
 */
export function edgelockDriver(options: {
  name: string;
  backend: string;
  counting: LockDriver["counting"];
  meter: Meter;
  adapter: () => LockAdapter;
  locker?: Omit<LockerOptions, "adapter">;
  close?: () => Promise<void>;
}): LockDriver {
  // One namespace per driver: its contenders must contend with each other.
  const namespace = `bench-${Math.random().toString(36).slice(2, 8)}:`;
  const contender = (): Contender => {
    const raw = options.adapter();
    const adapter = options.counting === "fetch" ? raw : options.meter.wrapAdapter(raw);
    const locker = createLocker({
      namespace,
      ...(config.backoff ? { backoff: config.backoff } : {}),
      ...options.locker,
      adapter,
    });
    const held = (lease: Held): Held => ({ extend: (ttl) => lease.extend(ttl), release: () => lease.release() });
    return {
      async tryAcquire(key, ttlMs) {
        const lease = await locker.tryAcquire(key, { ttlMs });
        return lease && held(lease);
      },
      async acquire(key, ttlMs, waitMs) {
        return held(await locker.acquire(key, { ttlMs, waitMs }));
      },
      ...(adapter.semaphores
        ? {
            async acquirePermit(key: string, limit: number, ttlMs: number, waitMs: number) {
              return held(await locker.semaphore(key, { limit }).acquire({ ttlMs, waitMs }));
            },
          }
        : {}),
      async close() {
        await raw.dispose?.();
      },
    };
  };
  const shared = contender();
  return {
    name: options.name,
    backend: options.backend,
    counting: options.counting,
    meter: options.meter,
    semaphores: shared.acquirePermit !== undefined,
    shared,
    contender,
    async close() {
      await shared.close();
      await options.close?.();
    },
  };
}
