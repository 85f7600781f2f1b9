import type { WaitingSlots } from "../../src/internal/waiting-slots.js";
import type { SemaphoreAcquireResult, SemaphoreAdapter, SemaphoreState } from "../../src/types.js";
import { WAITED_HEADER } from "./contract.js";
import { HTTP_MAX_LIMIT } from "./semaphore-contract.js";
import { grant, isPositive, unreadable, waitedMs } from "./service-call.js";

/** One request to the service (the lock client's `call`, aimed at `/v1/semaphores/`). */
export type SemaphoreCall = (
  what: string,
  method: "GET" | "POST",
  key: string,
  action: string,
  body: unknown,
  signal: AbortSignal | undefined,
) => Promise<{ status: number; json: Record<string, unknown>; response: Response }>;

/**
 * Semaphores of a deployed service: one HTTP request per operation, waits on
 * the service's side (inside its backend, or polled next to it).
 */
export function httpSemaphores(call: SemaphoreCall, maxWaitMs: number, slots: WaitingSlots): SemaphoreAdapter {
  return {
    capabilities: {
      maxLimit: HTTP_MAX_LIMIT,
      pushWakeups: slots.limit > 0,
      requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    },

    async acquire({ key, token, ttlMs, waitMs, owner, limit, signal }): Promise<SemaphoreAcquireResult> {
      const wait = Math.min(waitMs ?? 0, maxWaitMs);
      const { status, json, response } = await slots.send(wait > 0, (waiting) => {
        const body = {
          limit,
          ttlMs,
          ...(waiting ? { waitMs: wait } : {}),
          ...(owner === undefined ? {} : { owner }),
          token,
        };
        return call("semaphore acquire", "POST", key, "/acquire", body, signal);
      });
      if (status === 409 && json.error === "full") {
        const retryAfterMs = json.retryAfterMs;
        return {
          ok: false,
          reason: "held",
          ...(typeof retryAfterMs === "number" && Number.isFinite(retryAfterMs) ? { retryAfterMs } : {}),
        };
      }
      if (status === 409 && json.error === "limit_mismatch" && isPositive(json.limit)) {
        return { ok: false, reason: "limit_mismatch", limit: json.limit };
      }
      return grant("semaphore acquire", status, json, token, waitedMs(response, WAITED_HEADER));
    },

    async extend({ key, token, ttlMs, signal }) {
      const { status, json } = await call("semaphore extend", "POST", key, "/extend", { token, ttlMs }, signal);
      if (status === 409 && json.error === "not_held") return { ok: false, reason: "not_held" };
      return grant("semaphore extend", status, json, token, 0);
    },

    async release({ key, token, signal }) {
      const { status, json } = await call("semaphore release", "POST", key, "/release", { token }, signal);
      if (status === 409 && json.error === "not_held") return { ok: false, reason: "not_held" };
      if (status === 200 && json.released === true) return { ok: true };
      throw unreadable("semaphore release", status, json);
    },

    async inspect(key, options = {}): Promise<SemaphoreState> {
      const { status, json } = await call("semaphore inspect", "GET", key, "", undefined, options.signal);
      const { limit, permits } = json;
      if (status !== 200 || !(limit === null || isPositive(limit)) || !Array.isArray(permits)) {
        throw unreadable("semaphore inspect", status, json);
      }
      return {
        limit,
        permits: permits.map((permit: Record<string, unknown>) => {
          if (!isPositive(permit.fence) || typeof permit.expiresAt !== "number") {
            throw unreadable("semaphore inspect", status, json);
          }
          const base = { fence: permit.fence, expiresAt: permit.expiresAt };
          return typeof permit.owner === "string" ? { ...base, owner: permit.owner } : base;
        }),
      };
    },
  };
}
