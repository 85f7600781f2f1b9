/**
 * `@upstash/lock` 0.2.1 on the same Upstash-REST endpoint as edgelock's
 * adapter: SET NX PX to acquire, EVAL (GET + DEL / EXPIRE) to release and
 * extend. It has no fencing tokens and polls with a fixed delay; it is run
 * with its shipped defaults except for the number of attempts, which is
 * derived from the wait so that it waits as long as edgelock does.
 */
import { Lock } from "@upstash/lock";
import { Redis } from "@upstash/redis";
import type { Contender, Held, LockDriver } from "../driver.js";
import { type Meter, withGlobalFetch } from "../measure.js";

/** `@upstash/lock`'s default delay between attempts, ms. */
const RETRY_DELAY_MS = 100;

type LockRedis = ConstructorParameters<typeof Lock>[0]["redis"];

export function upstashLockDriver(options: { url: string; token: string; meter: Meter }): LockDriver {
  const prefix = `peer-${Math.random().toString(36).slice(2, 8)}:`;

  // Each contender its own `Redis` client (its own auto-pipeline), as each process has.
  const contender = (): Contender => {
    // @upstash/lock's types name the CommonJS build of Redis; the instance is the same class at runtime.
    const redis = new Redis({ url: options.url, token: options.token, enableTelemetry: false }) as unknown as LockRedis;
    const take = async (key: string, ttlMs: number, attempts: number, delay: number): Promise<Held | null> => {
      const lock = new Lock({ id: prefix + key, redis, lease: ttlMs });
      if (!(await lock.acquire({ lease: ttlMs, retry: { attempts, delay } }))) return null;
      return {
        async extend(ttl) {
          // Its extend adds `ttl` to the remaining TTL (whole seconds only).
          if (!(await lock.extend(ttl))) throw new Error(`@upstash/lock: extend of ${key} refused`);
        },
        async release() {
          if (!(await lock.release())) throw new Error(`@upstash/lock: release of ${key} refused`);
        },
      };
    };
    return {
      // A single attempt still sleeps `delay` after a refusal; 0 keeps a miss cheap.
      tryAcquire: (key, ttlMs) => take(key, ttlMs, 1, 0),
      async acquire(key, ttlMs, waitMs) {
        const held = await take(key, ttlMs, Math.ceil(waitMs / RETRY_DELAY_MS) + 1, RETRY_DELAY_MS);
        if (!held) throw new Error(`@upstash/lock: ${key} still held after ${waitMs} ms`);
        return held;
      },
      async close() {},
    };
  };

  return {
    name: "@upstash/lock 0.2.1",
    backend: "Upstash REST",
    counting: "fetch",
    meter: options.meter,
    semaphores: false,
    shared: contender(),
    contender,
    // @upstash/redis calls the global fetch and takes no fetch option.
    scope: (fn) => withGlobalFetch(options.meter, fn),
    async close() {},
  };
}
