import { BackendError, LockAbortedError } from "../../src/errors.js";
import type { SemaphoreAcquireResult, SemaphoreAdapter, SemaphoreState } from "../../src/types.js";
import type { LockObjectNamespace } from "./index.js";
import type { LockObjectStub } from "./protocol.js";
import { grant, rpc, unexpected } from "./rpc.js";
import {
  DURABLE_OBJECT_MAX_LIMIT,
  SEMAPHORE_WAIT_URL,
  type SemaphoreAcquireAnswer,
  type SemaphoreAcquireCall,
  type SemaphoreObjectRpc,
  semaphoreObjectName,
} from "./semaphore-protocol.js";
import { withdrawable } from "./withdrawable.js";

type SemaphoreStub = SemaphoreObjectRpc & Pick<LockObjectStub, "fetch">;

/**
 * Semaphores in Durable Objects: one `LockDurableObject` per semaphore key
 * (under its own name), holding all permits; each operation one RPC call.
 * Acquires with a wait queue inside the object and are granted FIFO, by
 * push, the moment a permit frees, as lock waiters are.
 */
export function durableObjectSemaphores<Id>(namespace: LockObjectNamespace<Id>): SemaphoreAdapter {
  const stub = (key: string) =>
    namespace.get(namespace.idFromName(semaphoreObjectName(key))) as unknown as SemaphoreStub;
  return {
    capabilities: {
      maxLimit: DURABLE_OBJECT_MAX_LIMIT,
      pushWakeups: true,
      requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    },

    async acquire({ key, token, ttlMs, waitMs, owner, limit, signal }): Promise<SemaphoreAcquireResult> {
      const object = stub(key);
      const wait = waitMs ?? 0;
      const call: SemaphoreAcquireCall = {
        token,
        ttlMs,
        limit,
        ...(wait > 0 ? { waitMs: wait } : {}),
        ...(owner === undefined ? {} : { owner }),
      };
      if (wait === 0 || !signal)
        return result(await rpc("semaphore acquire", () => object.semaphoreAcquire(call)), signal);
      return withdrawable(object, token, signal, async () => result(await waiting(object, call, signal), signal));
    },

    async extend({ key, token, ttlMs }) {
      const answer = await rpc("semaphore extend", () => stub(key).semaphoreExtend({ token, ttlMs }));
      if (answer.ok) return grant(answer, "semaphore extend");
      if (answer.reason === "not_held") return { ok: false, reason: "not_held" };
      throw unexpected("semaphore extend", answer);
    },

    async release({ key, token }) {
      const answer = await rpc("semaphore release", () => stub(key).semaphoreRelease({ token }));
      if (answer.ok) return { ok: true };
      if (answer.reason === "not_held") return { ok: false, reason: "not_held" };
      throw unexpected("semaphore release", answer);
    },

    async inspect(key): Promise<SemaphoreState> {
      const state = await rpc("semaphore inspect", () => stub(key).semaphoreInspect());
      if (!Array.isArray(state?.permits) || !(state.limit === null || Number.isSafeInteger(state.limit))) {
        throw unexpected("semaphore inspect", state);
      }
      return {
        limit: state.limit,
        permits: state.permits.map(({ fence, expiresAt, owner }) =>
          owner === undefined ? { fence, expiresAt } : { fence, expiresAt, owner },
        ),
      };
    },
  };
}

async function waiting(object: SemaphoreStub, call: SemaphoreAcquireCall, signal: AbortSignal) {
  const response = await rpc("semaphore acquire", () =>
    object.fetch(SEMAPHORE_WAIT_URL, { method: "POST", body: JSON.stringify(call), signal }),
  );
  if (response.status !== 200) {
    const body = await response.text().catch((error: unknown) => String(error));
    throw new BackendError(`Durable Object semaphore acquire answered HTTP ${response.status}: ${body}`, {
      maybeApplied: response.status >= 500,
      retryable: response.status >= 500,
      status: response.status,
    });
  }
  return rpc("semaphore acquire", () => response.json() as Promise<SemaphoreAcquireAnswer>);
}

function result(answer: SemaphoreAcquireAnswer, signal: AbortSignal | undefined): SemaphoreAcquireResult {
  if (answer.ok) return grant(answer, "semaphore acquire");
  if (answer.reason === "held") return { ok: false, reason: "held", retryAfterMs: answer.retryAfterMs };
  if (answer.reason === "limit_mismatch") return { ok: false, reason: "limit_mismatch", limit: answer.limit };
  if (answer.reason === "cancelled") {
    if (signal?.aborted) throw new LockAbortedError("acquire withdrawn from the queue", { cause: signal.reason });
    return { ok: false, reason: "held" };
  }
  throw unexpected("semaphore acquire", answer);
}
