/**
 * `edgelock/etcd`: locks in etcd (v3), over its JSON gateway and `fetch`
 * only, so Workers, Lambda and Azure Functions need no gRPC client.
 *
 * @module
 */
import { BackendError, InvalidArgumentError } from "../../src/errors.js";
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
import { fromBase64, int64, positive } from "./encoding.js";
import { type EtcdCredentials, EtcdGateway } from "./gateway.js";
import {
  ETCD_MAX_VALUE_BYTES,
  readRange,
  readValueAnswer,
  valueKeys,
  writeOutcome,
  writeTxn,
} from "./guarded-value.js";
import { KnownFences } from "./known-fences.js";
import { grantLease, leaseTimeToLive, MAX_TTL_MS } from "./leases.js";
import { etcdSemaphores } from "./semaphores.js";
import { SpareLeases } from "./spare-leases.js";
import {
  acquiredFence,
  acquireTxn,
  extendedFence,
  extendTxn,
  forceReleaseTxn,
  inspected,
  inspectTxn,
  lockKeys,
  releaseTxn,
  type TxnAnswer,
} from "./txn.js";
import { WakeWatches } from "./wake-watch.js";

export { ETCD_MAX_VALUE_BYTES } from "./guarded-value.js";
export { leaseSeconds } from "./leases.js";
export { ETCD_SEMAPHORE_MAX_LIMIT } from "./semaphores.js";

/** Key prefix used when none is named. */
export const ETCD_DEFAULT_PREFIX = "edgelock/";

/** Options of {@link etcdAdapter}. */
export interface EtcdAdapterOptions {
  /** Client URL of the etcd cluster (or a load balancer in front of it), e.g. `https://etcd.internal:2379`. */
  readonly endpoint: string;
  /** Prepended to every etcd key the adapter writes. No control characters. Default {@link ETCD_DEFAULT_PREFIX}. */
  readonly prefix?: string;
  /**
   * etcd user for token auth (`/v3/auth/authenticate`); give `password` too.
   * The user's role needs read and write on the prefix's range.
   */
  readonly username?: string;
  readonly password?: string;
  /** The `fetch` to send requests with. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * Locks as etcd keys attached to leases. etcd's leader expires the lease (and
 * with it the lock); the fence is the lock key's create revision, which
 * etcd's cluster-wide revision counter makes strictly increasing per key and
 * never resets. Acquire and extend are a lease grant and one transaction;
 * release is one transaction; inspect a read and a lease lookup. Semaphores
 * (`semaphores.ts`) keep each permit on its own lease the same way.
 *
 * @example
 * ```ts
 * import { createLocker } from "edgelock";
 * import { etcdAdapter } from "edgelock/etcd";
 *
 * const locker = createLocker({
 *   adapter: etcdAdapter({ endpoint: "http://etcd.internal:2379", username: "locks", password: env.ETCD_PASSWORD }),
 * });
 * const result = await locker.withLock("nightly-report", async (lease) => runReport(lease.fence), { ttlMs: 30_000 });
 * ```
 */
export function etcdAdapter(options: EtcdAdapterOptions): LockAdapter {
  if (!options || typeof options !== "object")
    throw new InvalidArgumentError("etcdAdapter needs options: { endpoint }");
  const endpoint = checkEndpoint(options.endpoint);
  const prefix = checkPrefix(options.prefix ?? ETCD_DEFAULT_PREFIX);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== "function") throw new InvalidArgumentError("fetch must be a function");
  const gateway = new EtcdGateway(endpoint, (input, init) => fetchImpl(input, init), checkCredentials(options));

  const spares = new SpareLeases();
  const fences = new KnownFences();
  const watches = new WakeWatches(gateway);
  const txn = (body: unknown, what: string, mutating: boolean, signal: AbortSignal | undefined) =>
    gateway.call<TxnAnswer>({ path: "/v3/kv/txn", body, signal, what, mutating });

  const capabilities: AdapterCapabilities = {
    name: "etcd",
    clock: "backend",
    clockSkewMarginMs: 0,
    // Leases count whole seconds; etcd raises a TTL below its own minimum
    // (1.5 election timeouts: 2 s by default) and the grant reports it.
    ttl: { minMs: 1000, maxMs: MAX_TTL_MS, granularityMs: 1000 },
    fencing: { native: true },
    pushWakeups: false,
    requestsPerOperation: { acquire: 2, extend: 2, release: 1, inspect: 2 },
    forceRelease: { requests: 1 },
    // One transaction per write when the holder acquired through this
    // instance (it knows the fence); a token it never saw costs one more.
    guardedValue: { maxBytes: ETCD_MAX_VALUE_BYTES, requestsPerOperation: { read: 1, write: 1 } },
  };

  return {
    capabilities,
    semaphores: etcdSemaphores(gateway, prefix, watches),

    async acquire({ key, token, ttlMs, owner, signal }: AdapterAcquireRequest): Promise<AdapterAcquireResult> {
      const sentAt = Date.now();
      const lease = await spares.leaseFor(gateway, token, ttlMs, signal);
      const keys = lockKeys(prefix, key);
      const answer = await txn(acquireTxn(keys, token, owner ?? "", lease.id), "acquire", true, signal);
      const fence = acquiredFence(answer);
      if (fence === undefined) {
        // Unused: the same token's next poll renews it rather than granting another.
        spares.keep(token, ttlMs, lease, sentAt);
        watches.refused(keys.lock, token, answer.header?.revision);
        return { ok: false, reason: "held" };
      }
      fences.set(token, fence);
      return { ok: true, fence, ttlMs: lease.ttlMs, expiresAt: sentAt + lease.ttlMs };
    },

    async extend({ key, token, ttlMs, signal }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      // A new lease of exactly the TTL asked for (a keep-alive would only
      // restore the old lease's own TTL), swapped in under the token guard.
      const sentAt = Date.now();
      const lease = await grantLease(gateway, ttlMs, signal);
      const answer = await txn(extendTxn(lockKeys(prefix, key), token, lease.id), "extend", true, signal);
      const fence = extendedFence(answer);
      if (fence === undefined) return { ok: false, reason: "not_held" };
      fences.set(token, fence);
      return { ok: true, fence, ttlMs: lease.ttlMs, expiresAt: sentAt + lease.ttlMs };
    },

    // Sleeps on a watch of the lock key until it is deleted (wake-watch.ts).
    pollWait: (request) => watches.wait({ key: lockKeys(prefix, request.key).lock, ownValue: request.token }, request),

    async release({ key, token, signal }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const answer = await txn(releaseTxn(lockKeys(prefix, key), token), "release", true, signal);
      if (answer.succeeded === true) fences.forget(token);
      return answer.succeeded === true ? { ok: true } : { ok: false, reason: "not_held" };
    },

    async forceRelease({ key, fence, signal }: AdapterForceReleaseRequest): Promise<AdapterForceReleaseResult> {
      const answer = await txn(forceReleaseTxn(lockKeys(prefix, key), fence), "force release", true, signal);
      return answer.succeeded === true ? { ok: true } : { ok: false, reason: "not_held" };
    },

    async inspect(key: string, callOptions?: { signal?: AbortSignal | undefined }): Promise<LockState> {
      const signal = callOptions?.signal;
      const keys = lockKeys(prefix, key);
      // The key can move to a new lease (an extend) between the read and the
      // lease lookup: then read again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const { lock, owner } = inspected(await txn(inspectTxn(keys), "inspect", false, signal));
        if (lock === undefined) return { held: false };
        const fence = positive(int64(lock.create_revision, "create_revision"), "create_revision");
        const leaseId = lock.lease;
        if (leaseId === undefined || !/^[1-9]\d*$/.test(leaseId)) {
          throw new BackendError("the lock key in etcd has no lease: it was not written by edgelock", {
            maybeApplied: false,
            retryable: false,
          });
        }
        const readAt = Date.now();
        const left = await leaseTimeToLive(gateway, leaseId, signal);
        if (left?.keys.some((k) => fromBase64(k) === keys.lock)) {
          return { held: true, fence, expiresAt: readAt + left.seconds * 1000, owner };
        }
      }
      throw new BackendError(`the lock "${key}" kept changing while it was inspected`, { maybeApplied: false });
    },

    async readValue(key: string, callOptions?: { signal?: AbortSignal | undefined }): Promise<StoredValue> {
      const body = readRange(valueKeys(lockKeys(prefix, key)));
      const what = "read the guarded value";
      const signal = callOptions?.signal;
      return readValueAnswer(await gateway.call({ path: "/v3/kv/range", body, signal, what, mutating: false }));
    },

    async writeValue({
      key,
      token,
      json,
      writeId,
      expectedVersion,
      signal,
    }: AdapterWriteRequest): Promise<AdapterWriteResult> {
      const keys = valueKeys(lockKeys(prefix, key));
      // A second attempt only when the fence named was not the token's; a
      // third only if the token took the key again in between.
      for (let attempt = 0; attempt < 3; attempt++) {
        const spec = { token, fence: fences.get(token), json, writeId, expectedVersion };
        const outcome = writeOutcome(await txn(writeTxn(keys, spec), "write the guarded value", true, signal), spec);
        if ("result" in outcome) return outcome.result;
        fences.set(token, outcome.fence);
      }
      throw new BackendError(`the lock "${key}" kept changing hands while its value was written`, {
        maybeApplied: false,
      });
    },
  };
}

function checkEndpoint(endpoint: unknown): string {
  // Never echo a URL that may carry credentials.
  const shown =
    typeof endpoint === "string" && !endpoint.includes("@") ? JSON.stringify(endpoint) : `a ${typeof endpoint}`;
  let url: URL;
  try {
    url = new URL(String(endpoint));
  } catch (cause) {
    throw new InvalidArgumentError(`endpoint must be an http(s) URL, got ${shown}`, { cause });
  }
  if (typeof endpoint !== "string" || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new InvalidArgumentError(`endpoint must be an http(s) URL, got ${shown}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new InvalidArgumentError("endpoint must have no query, fragment or credentials (use username and password)");
  }
  return url.href.replace(/\/+$/, "");
}

function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== "string" || prefix.length > 256 || /[\u0000-\u001f\u007f]/.test(prefix)) {
    throw new InvalidArgumentError("prefix must be a string of at most 256 characters without control characters");
  }
  return prefix;
}

function checkCredentials(options: EtcdAdapterOptions): EtcdCredentials | undefined {
  const { username, password } = options;
  if (username === undefined && password === undefined) return undefined;
  if (typeof username !== "string" || username === "" || typeof password !== "string" || password === "") {
    throw new InvalidArgumentError("username and password must be given together, as non-empty strings");
  }
  return { username, password };
}
