/**
 * `edgelock/upstash`: locks on Upstash Redis over its REST API, so Workers,
 * Lambda and Azure Functions need no TCP connection.
 *
 * @module
 */
import { Redis } from "@upstash/redis";
import { InvalidArgumentError } from "../../src/errors.js";
import { WaitingSlots, waitingRequestLimit } from "../../src/internal/waiting-slots.js";
import type {
  AdapterAcquireRequest,
  AdapterAcquireResult,
  AdapterCapabilities,
  AdapterExtendRequest,
  AdapterExtendResult,
  AdapterForceReleaseRequest,
  AdapterForceReleaseResult,
  AdapterReleaseRequest,
  AdapterReleaseResult,
  AdapterWriteRequest,
  AdapterWriteResult,
  LockAdapter,
  LockState,
  StoredValue,
} from "../../src/types.js";
import { MAX_DURATION_MS } from "../../src/validate.js";
import { CommandBatcher } from "./command-batcher.js";
import { DEFAULT_PREFIX, lockKeys, validatePrefix } from "./keys.js";
import { LuaScript, type UpstashScriptClient } from "./lua-script.js";
import { acquireWaiting, WAKE_TTL_MS } from "./push-wait.js";
import { acquireReply, extendReply, inspectReply, readValueReply, releaseReply, writeValueReply } from "./replies.js";
import { restRequester } from "./rest-requester.js";
import { ACQUIRE, EXTEND, FORCE_RELEASE, INSPECT, READ_VALUE, RELEASE, WRITE_VALUE } from "./scripts.js";
import { upstashSemaphores } from "./semaphores.js";
import { WakeBlocks } from "./wake-blocks.js";

export {
  type FencedHashSetOptions,
  type FencedWriteResult,
  fencedHashSet,
} from "./fenced-write.js";
export type { UpstashScriptClient } from "./lua-script.js";

/** Options shared by both ways of reaching Upstash. */
interface CommonOptions {
  /**
   * Prepended to every Redis key the adapter writes, so locks never collide
   * with other data in the database. No `{` or `}`. Default `"edgelock:"`.
   */
  readonly prefix?: string;
}

/** Reach Upstash with a client you already have. */
export interface UpstashClientOptions extends CommonOptions {
  /**
   * An `@upstash/redis` `Redis` (or anything with its `evalsha` and `eval`).
   * Its own HTTP settings apply: create it with `retry: false` so that only
   * edgelock retries, with the owner token.
   */
  readonly redis: UpstashScriptClient;
  readonly url?: never;
  readonly token?: never;
  readonly fetch?: never;
  /** A user's client pipelines what it is given: waits poll, no `BLPOP`. */
  readonly maxWaitingRequests?: never;
}

/** Reach Upstash by URL and token; the adapter builds the client. */
export interface UpstashEndpointOptions extends CommonOptions {
  /** REST URL of the database, `UPSTASH_REDIS_REST_URL`. */
  readonly url: string;
  /** REST token, `UPSTASH_REDIS_REST_TOKEN`. */
  readonly token: string;
  /** `fetch` to send requests through. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /**
   * At most this many `BLPOP` requests of this adapter wait at once, one
   * per key however many of its waiters wait for that key; a waiter that
   * finds none free is polled by the lock client. Default 4 on Cloudflare
   * Workers, whose invocations get six connections waiting for answers at
   * once (the other two stay free, for the release that wakes a waiter),
   * and no limit elsewhere. `0` never blocks: every wait polls.
   */
  readonly maxWaitingRequests?: number;
  readonly redis?: never;
}

/** Options of {@link upstashAdapter}. */
export type UpstashAdapterOptions = UpstashClientOptions | UpstashEndpointOptions;

const scripts = {
  acquire: new LuaScript("acquire", ACQUIRE),
  extend: new LuaScript("extend", EXTEND),
  release: new LuaScript("release", RELEASE),
  forceRelease: new LuaScript("forceRelease", FORCE_RELEASE),
  inspect: new LuaScript("inspect", INSPECT),
  writeValue: new LuaScript("write value", WRITE_VALUE),
  readValue: new LuaScript("read value", READ_VALUE),
};

/**
 * Largest guarded value, bytes of JSON (256 KiB): it travels as a script
 * argument inside the REST request's JSON body, where escaping can double
 * it, and Upstash's smallest plans cap a request at 1 MB.
 */
export const UPSTASH_MAX_VALUE_BYTES = 262_144;

/**
 * Locks on Upstash Redis through its REST API. Each operation is one atomic
 * Lua script (`EVALSHA`, with `EVAL` once per script after a `NOSCRIPT`);
 * Redis's clock decides expiry; fences come from a per-lock counter that is
 * never expired or reset.
 *
 * @example
 * ```ts
 * import { createLocker } from "edgelock";
 * import { upstashAdapter } from "edgelock/upstash";
 *
 * const locker = createLocker({
 *   adapter: upstashAdapter({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }),
 * });
 * const result = await locker.withLock("nightly-report", async (lease) => runReport(lease.fence));
 * ```
 *
 * @example
 * ```ts
 * import { Redis } from "@upstash/redis";
 * const adapter = upstashAdapter({ redis: new Redis({ url, token, retry: false }), prefix: "billing-locks:" });
 * ```
 */
export function upstashAdapter(options: UpstashAdapterOptions): LockAdapter {
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgumentError("upstashAdapter needs options: { url, token } or { redis }");
  }
  const prefix = validatePrefix(options.prefix ?? DEFAULT_PREFIX);
  const { client, blocks } = clientFor(options);

  const capabilities: AdapterCapabilities = {
    name: "upstash",
    clock: "backend",
    clockSkewMarginMs: 0,
    // PX takes any positive integer of milliseconds; the shared cap keeps
    // local deadline timers exact everywhere.
    ttl: { minMs: 1, maxMs: MAX_DURATION_MS, granularityMs: 1 },
    fencing: { native: true },
    // Only over our own requester: a user's client would pipeline a BLPOP with other commands.
    pushWakeups: blocks !== undefined,
    requestsPerPushWait: 2,
    requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    forceRelease: { requests: 1 },
    guardedValue: { maxBytes: UPSTASH_MAX_VALUE_BYTES, requestsPerOperation: { read: 1, write: 1 } },
  };

  return {
    capabilities,
    semaphores: upstashSemaphores(prefix, client, blocks),

    async acquire(request: AdapterAcquireRequest): Promise<AdapterAcquireResult> {
      const { key, token, ttlMs, owner, waitMs } = request;
      const keys = lockKeys(prefix, key);
      const attempt = async () =>
        acquireReply(
          await scripts.acquire.run(client(request.signal), [keys.lock, keys.fence], [token, ttlMs, owner ?? ""]),
          ttlMs,
        );
      if (blocks === undefined || !waitMs) return attempt();
      return acquireWaiting(attempt, blocks, keys.wake, waitMs, request.signal);
    },

    async extend({ key, token, ttlMs, signal }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const reply = await scripts.extend.run(client(signal), [lockKeys(prefix, key).lock], [token, ttlMs]);
      return extendReply(reply, ttlMs);
    },

    async release({ key, token, signal }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const keys = lockKeys(prefix, key);
      const reply = await scripts.release.run(client(signal), [keys.lock, keys.wake], [token, WAKE_TTL_MS]);
      return releaseReply(reply);
    },

    async forceRelease({ key, fence, signal }: AdapterForceReleaseRequest): Promise<AdapterForceReleaseResult> {
      const keys = lockKeys(prefix, key);
      const reply = await scripts.forceRelease.run(client(signal), [keys.lock, keys.wake], [fence, WAKE_TTL_MS]);
      return releaseReply(reply);
    },

    async inspect(key: string, callOptions?: { signal?: AbortSignal | undefined }): Promise<LockState> {
      const reply = await scripts.inspect.run(client(callOptions?.signal), [lockKeys(prefix, key).lock], []);
      return inspectReply(reply);
    },

    async readValue(key: string, callOptions?: { signal?: AbortSignal | undefined }): Promise<StoredValue> {
      const reply = await scripts.readValue.run(client(callOptions?.signal), [lockKeys(prefix, key).value], []);
      return readValueReply(reply);
    },

    async writeValue(request: AdapterWriteRequest): Promise<AdapterWriteResult> {
      const keys = lockKeys(prefix, request.key);
      const expected = request.expectedVersion === undefined ? "" : String(request.expectedVersion);
      const store = request.json === null ? ["", "0"] : [request.json, "1"];
      const reply = await scripts.writeValue.run(
        client(request.signal),
        [keys.lock, keys.value],
        [request.token, request.writeId, ...store, expected],
      );
      return writeValueReply(reply);
    },
  };
}

/**
 * How each call gets its client. A user's client is used as it is (it takes
 * no per-call signal); for URL and token, a `Redis` over our own requester is
 * made per call (it is only a wrapper) so the call's signal reaches `fetch`,
 * and all calls share one batcher, so concurrent operations share requests.
 */
function clientFor(options: UpstashAdapterOptions): {
  client: (signal?: AbortSignal) => UpstashScriptClient;
  /** Where waits block; undefined when waiting polls. */
  blocks?: WakeBlocks;
} {
  if (options.redis !== undefined) {
    const { redis } = options;
    if (typeof redis?.evalsha !== "function" || typeof redis.eval !== "function") {
      throw new InvalidArgumentError("redis must be an @upstash/redis client (with evalsha and eval)");
    }
    const extra = (["url", "token", "fetch", "maxWaitingRequests"] as const).filter(
      (name) => options[name] !== undefined,
    );
    if (extra.length > 0) {
      throw new InvalidArgumentError(`give either redis or url and token, not both (also got ${extra.join(", ")})`);
    }
    return { client: () => redis };
  }
  const { url, token } = options;
  if (typeof url !== "string" || !/^https?:\/\/[^\s/?#]+\S*$/.test(url)) {
    throw new InvalidArgumentError(`url must be an http(s) URL (UPSTASH_REDIS_REST_URL), got ${JSON.stringify(url)}`);
  }
  if (typeof token !== "string" || token.length === 0 || /\s/.test(token)) {
    throw new InvalidArgumentError("token must be a non-empty string without whitespace (UPSTASH_REDIS_REST_TOKEN)");
  }
  if (options.fetch !== undefined && typeof options.fetch !== "function") {
    throw new InvalidArgumentError("fetch must be a function");
  }
  const endpoint = {
    url: url.replace(/\/+$/, ""),
    token,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  } satisfies Parameters<typeof restRequester>[0];
  const batcher = new CommandBatcher(endpoint);
  const limit = waitingRequestLimit(options.maxWaitingRequests);
  return {
    client: (signal) => new Redis(restRequester(endpoint, batcher, signal)),
    ...(limit > 0 ? { blocks: new WakeBlocks(endpoint, new WaitingSlots(limit)) } : {}),
  };
}
