/**
 * One shape for every lock library under test, so the same scenario code
 * drives edgelock and its peers.
 */
import { createLocker, type LockAdapter, type LockerOptions } from "../src/index.js";
import { config } from "./config.js";
import type { Meter } from "./measure.js";

/** A lock held by a driver. */
export interface Held {
  extend(ttlMs: number): Promise<void>;
  release(): Promise<void>;
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
  readonly meter: Meter;
  /** Take `key` if free, else `null`. */
  tryAcquire(key: string, ttlMs: number): Promise<Held | null>;
  /** Wait up to `waitMs` for `key`; throws if still held then. */
  acquire(key: string, ttlMs: number, waitMs: number): Promise<Held>;
  /** Runs every scenario of this driver (peers that need the global `fetch` routed through the meter). */
  scope?<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Drive an edgelock adapter through the public lock client, as users do:
 * validation, token generation, timeouts and backoff are all included.
 */
export function edgelockDriver(options: {
  name: string;
  backend: string;
  counting: LockDriver["counting"];
  meter: Meter;
  adapter: LockAdapter;
  locker?: Omit<LockerOptions, "adapter">;
  close?: () => Promise<void>;
}): LockDriver {
  const adapter = options.counting === "fetch" ? options.adapter : options.meter.wrapAdapter(options.adapter);
  const locker = createLocker({
    namespace: `bench-${Math.random().toString(36).slice(2, 8)}:`,
    ...(config.backoff ? { backoff: config.backoff } : {}),
    ...options.locker,
    adapter,
  });
  return {
    name: options.name,
    backend: options.backend,
    counting: options.counting,
    meter: options.meter,
    async tryAcquire(key, ttlMs) {
      const lease = await locker.tryAcquire(key, { ttlMs });
      return lease && { extend: (ttl) => lease.extend(ttl), release: () => lease.release() };
    },
    async acquire(key, ttlMs, waitMs) {
      const lease = await locker.acquire(key, { ttlMs, waitMs });
      return { extend: (ttl) => lease.extend(ttl), release: () => lease.release() };
    },
    async close() {
      await options.adapter.dispose?.();
      await options.close?.();
    },
  };
}
