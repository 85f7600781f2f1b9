/**
 * `edgelock/upstash`: locks on Upstash Redis over its REST API, so Workers,
 * Lambda and Azure Functions need no TCP connection.
 *
 * @module
 */
import { Redis } from "@upstash/redis";
import { InvalidArgumentError } from "../../src/errors.js";
import type {
  AdapterAcquireRequest,
  AdapterAcquireResult,
  AdapterCapabilities,
  AdapterExtendRequest,
  AdapterExtendResult,
  AdapterReleaseRequest,
  AdapterReleaseResult,
  LockAdapter,
  LockState,
} from "../../src/types.js";
import { MAX_DURATION_MS } from "../../src/validate.js";
import { CommandBatcher } from "./command-batcher.js";
import { DEFAULT_PREFIX, lockKeys, validatePrefix } from "./keys.js";
import { LuaScript, type UpstashScriptClient } from "./lua-script.js";
import { acquireReply, extendReply, inspectReply, releaseReply } from "./replies.js";
import { restRequester } from "./rest-requester.js";
import { ACQUIRE, EXTEND, INSPECT, RELEASE } from "./scripts.js";
import { upstashSemaphores } from "./semaphores.js";

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
}

/** Reach Upstash by URL and token; the adapter builds the client. */
export interface UpstashEndpointOptions extends CommonOptions {
  /** REST URL of the database, `UPSTASH_REDIS_REST_URL`. */
  readonly url: string;
  /** REST token, `UPSTASH_REDIS_REST_TOKEN`. */
  readonly token: string;
  /** `fetch` to send requests through. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  readonly redis?: never;
}

/** Options of {@link upstashAdapter}. */
export type UpstashAdapterOptions = UpstashClientOptions | UpstashEndpointOptions;

const scripts = {
  acquire: new LuaScript("acquire", ACQUIRE),
  extend: new LuaScript("extend", EXTEND),
  release: new LuaScript("release", RELEASE),
  inspect: new LuaScript("inspect", INSPECT),
};

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
  const client = clientFor(options);

  const capabilities: AdapterCapabilities = {
    name: "upstash",
    clock: "backend",
    clockSkewMarginMs: 0,
    // PX takes any positive integer of milliseconds; the shared cap keeps
    // local deadline timers exact everywhere.
    ttl: { minMs: 1, maxMs: MAX_DURATION_MS, granularityMs: 1 },
    fencing: { native: true },
    pushWakeups: false,
    requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
  };

  return {
    capabilities,
    semaphores: upstashSemaphores(prefix, client),

    async acquire({ key, token, ttlMs, owner, signal }: AdapterAcquireRequest): Promise<AdapterAcquireResult> {
      const keys = lockKeys(prefix, key);
      const reply = await scripts.acquire.run(client(signal), [keys.lock, keys.fence], [token, ttlMs, owner ?? ""]);
      return acquireReply(reply, ttlMs);
    },

    async extend({ key, token, ttlMs, signal }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const reply = await scripts.extend.run(client(signal), [lockKeys(prefix, key).lock], [token, ttlMs]);
      return extendReply(reply, ttlMs);
    },

    async release({ key, token, signal }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const reply = await scripts.release.run(client(signal), [lockKeys(prefix, key).lock], [token]);
      return releaseReply(reply);
    },

    async inspect(key: string, callOptions?: { signal?: AbortSignal | undefined }): Promise<LockState> {
      const reply = await scripts.inspect.run(client(callOptions?.signal), [lockKeys(prefix, key).lock], []);
      return inspectReply(reply);
    },
  };
}

/**
 * How each call gets its client. A user's client is used as it is (it takes
 * no per-call signal); for URL and token, a `Redis` over our own requester is
 * made per call (it is only a wrapper) so the call's signal reaches `fetch`,
 * and all calls share one batcher, so concurrent operations share requests.
 */
function clientFor(options: UpstashAdapterOptions): (signal?: AbortSignal) => UpstashScriptClient {
  if (options.redis !== undefined) {
    const { redis } = options;
    if (typeof redis?.evalsha !== "function" || typeof redis.eval !== "function") {
      throw new InvalidArgumentError("redis must be an @upstash/redis client (with evalsha and eval)");
    }
    const extra = (["url", "token", "fetch"] as const).filter((name) => options[name] !== undefined);
    if (extra.length > 0) {
      throw new InvalidArgumentError(`give either redis or url and token, not both (also got ${extra.join(", ")})`);
    }
    return () => redis;
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
  return (signal) => new Redis(restRequester(endpoint, batcher, signal));
}
