import { BackendError, InvalidArgumentError, LockAbortedError } from "../../src/errors.js";
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
import {
  type AcquireAnswer,
  type AcquireCall,
  DURABLE_OBJECT_MAX_VALUE_BYTES,
  type LockObjectStub,
  WAIT_URL,
} from "./protocol.js";
import { grant, rpc, unexpected } from "./rpc.js";
import { durableObjectSemaphores } from "./semaphores.js";
import { withdrawable } from "./withdrawable.js";

export type * from "./protocol.js";
export { DURABLE_OBJECT_MAX_VALUE_BYTES, WAIT_URL } from "./protocol.js";

/** The binding name the bundled `wrangler.toml` gives the lock namespace. */
export const DURABLE_OBJECT_BINDING = "LOCKS";
/** The class name to bind: `LockDurableObject` from `edgelock/durable-object/object`. */
export const DURABLE_OBJECT_CLASS = "LockDurableObject";

/**
 * The part of a `DurableObjectNamespace<LockDurableObject>` binding the
 * adapter uses. Structural, so this module needs neither the Workers type
 * globals nor `cloudflare:workers`, and Miniflare's namespace proxy fits too.
 */
export interface LockObjectNamespace<Id = unknown> {
  idFromName(name: string): Id;
  get(id: Id): LockObjectStub;
}

/** Options of {@link durableObjectAdapter}. */
export interface DurableObjectAdapterOptions<Id = unknown> {
  /** The namespace binding of {@link DURABLE_OBJECT_CLASS}, e.g. `env.LOCKS`. */
  readonly namespace: LockObjectNamespace<Id>;
}

const capabilities: AdapterCapabilities = {
  name: "durable-object",
  clock: "backend",
  clockSkewMarginMs: 0,
  ttl: { minMs: 1, maxMs: MAX_DURATION_MS, granularityMs: 1 },
  fencing: { native: true },
  pushWakeups: true,
  requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
  forceRelease: { requests: 1 },
  guardedValue: { maxBytes: DURABLE_OBJECT_MAX_VALUE_BYTES, requestsPerOperation: { read: 1, write: 1 } },
};

/**
 * Locks in Cloudflare Durable Objects: one `LockDurableObject` per key, each
 * operation one RPC call on its stub. The object's clock decides expiry, and
 * an acquire with a wait is queued inside the object and woken the moment
 * the lock frees, so waiters never poll.
 *
 * @example
 * ```ts
 * import { createLocker } from "edgelock";
 * import { durableObjectAdapter } from "edgelock/durable-object";
 *
 * export default {
 *   async fetch(request: Request, env: { LOCKS: DurableObjectNamespace<LockDurableObject> }) {
 *     const locker = createLocker({ adapter: durableObjectAdapter({ namespace: env.LOCKS }) });
 *     await using lease = await locker.acquire("invoice:42", { ttlMs: 30_000, waitMs: 5_000 });
 *     return new Response(`fence ${lease.fence}`);
 *   },
 * };
 * ```
 */
export function durableObjectAdapter<Id>(options: DurableObjectAdapterOptions<Id>): LockAdapter {
  const namespace = options?.namespace;
  if (typeof namespace?.idFromName !== "function" || typeof namespace.get !== "function") {
    throw new InvalidArgumentError("durableObjectAdapter needs `namespace`: the LockDurableObject namespace binding");
  }
  // A stub per call: on Workers a stub belongs to the request that made it.
  const stub = (key: string): LockObjectStub => namespace.get(namespace.idFromName(key));

  return {
    capabilities,
    semaphores: durableObjectSemaphores(namespace),

    async acquire({ key, token, ttlMs, waitMs, owner, signal }: AdapterAcquireRequest): Promise<AdapterAcquireResult> {
      const object = stub(key);
      const wait = waitMs ?? 0;
      const call = { token, ttlMs, ...(wait > 0 ? { waitMs: wait } : {}), ...(owner === undefined ? {} : { owner }) };
      if (wait === 0 || !signal) return acquireResult(await rpc("acquire", () => object.acquire(call)), signal);
      return withdrawable(object, token, signal, async () =>
        acquireResult(await waitingAcquire(object, call, signal), signal),
      );
    },

    async extend({ key, token, ttlMs }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const answer = await rpc("extend", () => stub(key).extend({ token, ttlMs }));
      if (answer.ok) return grant(answer, "extend");
      if (answer.reason === "not_held") return { ok: false, reason: "not_held" };
      throw unexpected("extend", answer);
    },

    async release({ key, token }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const answer = await rpc("release", () => stub(key).release({ token }));
      if (answer.ok) return { ok: true };
      if (answer.reason === "not_held") return { ok: false, reason: "not_held" };
      throw unexpected("release", answer);
    },

    async forceRelease({ key, fence }: AdapterForceReleaseRequest): Promise<AdapterForceReleaseResult> {
      const answer = await rpc("forceRelease", () => stub(key).forceRelease({ fence }));
      if (answer.ok) return { ok: true };
      if (answer.reason === "not_held") return { ok: false, reason: "not_held" };
      throw unexpected("forceRelease", answer);
    },

    async inspect(key: string): Promise<LockState> {
      const state = await rpc("inspect", () => stub(key).inspect());
      if (state?.held === false) return { held: false };
      if (state?.held === true && Number.isSafeInteger(state.fence) && typeof state.expiresAt === "number") {
        const { fence, expiresAt, owner } = state;
        return { held: true, fence, expiresAt, ...(owner === undefined ? {} : { owner }) };
      }
      throw unexpected("inspect", state);
    },

    async readValue(key: string): Promise<StoredValue> {
      const stored = await rpc("readValue", () => stub(key).readValue());
      const { json, version, fence } = stored ?? {};
      if (
        Number.isSafeInteger(version) &&
        Number.isSafeInteger(fence) &&
        (json === undefined || typeof json === "string")
      ) {
        return { json, version: version as number, fence: fence as number };
      }
      throw unexpected("readValue", stored);
    },

    async writeValue({ key, token, json, writeId, expectedVersion }: AdapterWriteRequest): Promise<AdapterWriteResult> {
      const call = { token, json, writeId, ...(expectedVersion === undefined ? {} : { expectedVersion }) };
      const answer = await rpc("writeValue", () => stub(key).writeValue(call));
      if (answer.ok && Number.isSafeInteger(answer.version) && Number.isSafeInteger(answer.fence)) {
        return { ok: true, version: answer.version, fence: answer.fence };
      }
      if (!answer.ok && answer.reason === "not_held") return { ok: false, reason: "not_held" };
      if (!answer.ok && answer.reason === "version_mismatch" && Number.isSafeInteger(answer.version)) {
        return { ok: false, reason: "version_mismatch", version: answer.version };
      }
      throw unexpected("writeValue", answer);
    },
  };
}

async function waitingAcquire(object: LockObjectStub, call: AcquireCall, signal: AbortSignal): Promise<AcquireAnswer> {
  const response = await rpc("acquire", () =>
    object.fetch(WAIT_URL, { method: "POST", body: JSON.stringify(call), signal }),
  );
  if (response.status !== 200) {
    const body = await response.text().catch((error: unknown) => String(error));
    throw new BackendError(`Durable Object acquire answered HTTP ${response.status}: ${body}`, {
      maybeApplied: response.status >= 500,
      retryable: response.status >= 500,
      status: response.status,
    });
  }
  return rpc("acquire", () => response.json() as Promise<AcquireAnswer>);
}

function acquireResult(answer: AcquireAnswer, signal: AbortSignal | undefined): AdapterAcquireResult {
  if (answer.ok) return grant(answer, "acquire");
  if (answer.reason === "held") return { ok: false, reason: "held", retryAfterMs: answer.retryAfterMs };
  if (answer.reason === "cancelled") {
    if (signal?.aborted) throw new LockAbortedError("acquire withdrawn from the queue", { cause: signal.reason });
    // Withdrawn by a release or a newer call with the same token: this call
    // did not get the lock.
    return { ok: false, reason: "held" };
  }
  throw unexpected("acquire", answer);
}
