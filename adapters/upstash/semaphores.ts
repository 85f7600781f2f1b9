import type {
  AdapterGrant,
  PermitState,
  SemaphoreAcquireResult,
  SemaphoreAdapter,
  SemaphoreState,
} from "../../src/types.js";
import { unreadable } from "./failures.js";
import { LuaScript, type UpstashScriptClient } from "./lua-script.js";
import { acquireWaiting, WAKE_TTL_MS } from "./push-wait.js";
import { SEMAPHORE_ACQUIRE, SEMAPHORE_EXTEND, SEMAPHORE_INSPECT, SEMAPHORE_RELEASE } from "./semaphore-scripts.js";
import type { WakeBlocks } from "./wake-blocks.js";

const scripts = {
  acquire: new LuaScript("semaphore acquire", SEMAPHORE_ACQUIRE),
  extend: new LuaScript("semaphore extend", SEMAPHORE_EXTEND),
  release: new LuaScript("semaphore release", SEMAPHORE_RELEASE),
  inspect: new LuaScript("semaphore inspect", SEMAPHORE_INSPECT),
};

/** Redis keys of one semaphore, in the lock key's hash tag but apart from the lock's own names. */
function semaphoreKeys(prefix: string, key: string) {
  const tag = key.replaceAll("%", "%25").replaceAll("}", "%7D");
  const base = `${prefix}{${tag}}`;
  return { sem: `${base}:sem`, data: `${base}:semdata`, fence: `${base}:semfence`, wake: `${base}:semwake` };
}

const isInteger = (value: unknown): value is number => Number.isSafeInteger(value);

function grant(reply: unknown, ttlMs: number, what: string): AdapterGrant | undefined {
  if (!Array.isArray(reply) || reply[0] !== 1 || reply.length !== 3) return undefined;
  const [, fence, expiresAt] = reply;
  if (!isInteger(fence) || fence < 1 || !isInteger(expiresAt)) throw unreadable(what, reply, true);
  return { ok: true, fence, ttlMs, expiresAt };
}

/**
 * Semaphores on Upstash: one script per operation (one request), over a
 * sorted set of holders by expiry; Redis's clock decides expiry, as for
 * the lock. Refusals carry the time until the earliest permit expires.
 * With `blocks` (URL and token), a waiting acquire blocks in `BLPOP` on the
 * semaphore's wake-up list, to which each release pushes, as the lock's
 * waits do (`push-wait.ts`); each block is capped by the earliest expiry.
 */
export function upstashSemaphores(
  prefix: string,
  client: (signal?: AbortSignal) => UpstashScriptClient,
  blocks: WakeBlocks | undefined,
): SemaphoreAdapter {
  return {
    capabilities: {
      // Each acquire scans the live set; a few thousand keeps scripts short.
      maxLimit: 1_000,
      pushWakeups: blocks !== undefined,
      requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    },

    async acquire({ key, token, ttlMs, owner, limit, waitMs, signal }): Promise<SemaphoreAcquireResult> {
      const keys = semaphoreKeys(prefix, key);
      const attempt = async (): Promise<SemaphoreAcquireResult> => {
        const reply = await scripts.acquire.run(
          client(signal),
          [keys.sem, keys.data, keys.fence],
          [token, ttlMs, owner ?? "", limit],
        );
        const granted = grant(reply, ttlMs, "semaphore acquire");
        if (granted) return granted;
        if (Array.isArray(reply) && reply.length === 2 && isInteger(reply[1]) && reply[1] >= 1) {
          if (reply[0] === 0) return { ok: false, reason: "held", retryAfterMs: reply[1] };
          if (reply[0] === 2) return { ok: false, reason: "limit_mismatch", limit: reply[1] };
        }
        throw unreadable("semaphore acquire", reply, true);
      };
      if (blocks === undefined || !waitMs) return attempt();
      return acquireWaiting(attempt, blocks, keys.wake, waitMs, signal);
    },

    async extend({ key, token, ttlMs, signal }) {
      const keys = semaphoreKeys(prefix, key);
      const reply = await scripts.extend.run(client(signal), [keys.sem, keys.data], [token, ttlMs]);
      const granted = grant(reply, ttlMs, "semaphore extend");
      if (granted) return granted;
      if (Array.isArray(reply) && reply.length === 1 && reply[0] === 0) return { ok: false, reason: "not_held" };
      throw unreadable("semaphore extend", reply, true);
    },

    async release({ key, token, signal }) {
      const keys = semaphoreKeys(prefix, key);
      const reply = await scripts.release.run(client(signal), [keys.sem, keys.data, keys.wake], [token, WAKE_TTL_MS]);
      if (reply === 1) return { ok: true };
      if (reply === 0) return { ok: false, reason: "not_held" };
      throw unreadable("semaphore release", reply, true);
    },

    async inspect(key, options): Promise<SemaphoreState> {
      const keys = semaphoreKeys(prefix, key);
      const reply = await scripts.inspect.run(client(options?.signal), [keys.sem, keys.data], []);
      if (!Array.isArray(reply) || !isInteger(reply[0]) || (reply.length - 1) % 3 !== 0) {
        throw unreadable("semaphore inspect", reply, false);
      }
      if (reply[0] === 0) return { limit: null, permits: [] };
      const permits: PermitState[] = [];
      for (let i = 1; i < reply.length; i += 3) {
        const [fence, expiresAt, owner] = reply.slice(i, i + 3);
        if (!isInteger(fence) || !isInteger(expiresAt) || typeof owner !== "string" || !owner.startsWith("o:")) {
          throw unreadable("semaphore inspect", reply, false);
        }
        permits.push(owner === "o:" ? { fence, expiresAt } : { fence, expiresAt, owner: owner.slice(2) });
      }
      return { limit: reply[0], permits: permits.sort((a, b) => a.fence - b.fence) };
    },
  };
}
