import type {
  AdapterExtendRequest,
  AdapterExtendResult,
  AdapterReleaseRequest,
  AdapterReleaseResult,
  PermitState,
  SemaphoreAcquireRequest,
  SemaphoreAcquireResult,
  SemaphoreAdapter,
  SemaphoreState,
} from "../../src/types.js";
import { unreadable } from "./failures.js";
import { integer, type Query } from "./query.js";
import { semaphoreAcquireSql, semaphoreExtendSql, semaphoreInspectSql, semaphoreReleaseSql } from "./semaphore-sql.js";
import type { LockTableNames } from "./sql.js";

/** Largest limit: all permits of a key live in one `jsonb` value that every acquire rewrites. */
export const POSTGRES_MAX_SEMAPHORE_LIMIT = 1_000;

/** Semaphores in `<table>_sems`, one statement per operation, on the server's clock. */
export function postgresSemaphores(names: LockTableNames, query: Query): SemaphoreAdapter {
  const sql = {
    acquire: semaphoreAcquireSql(names),
    extend: semaphoreExtendSql(names),
    release: semaphoreReleaseSql(names),
    inspect: semaphoreInspectSql(names),
  };
  return {
    capabilities: {
      maxLimit: POSTGRES_MAX_SEMAPHORE_LIMIT,
      pushWakeups: false,
      requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    },

    async acquire({
      key,
      token,
      ttlMs,
      owner,
      limit,
      signal,
    }: SemaphoreAcquireRequest): Promise<SemaphoreAcquireResult> {
      const params = [key, token, String(ttlMs), owner ?? null, String(limit)];
      const rows = await query("semaphore acquire", sql.acquire, params, signal, [token]);
      const [row] = rows;
      const lim = integer(row?.lim);
      const now = integer(row?.now);
      if (row === undefined || rows.length > 1 || lim === undefined || now === undefined) {
        throw unreadable("semaphore acquire", rows, true);
      }
      if (row.fence !== null && row.fence !== undefined) {
        const fence = integer(row.fence);
        const expiresAt = integer(row.expires_at);
        if (fence === undefined || fence < 1 || expiresAt === undefined)
          throw unreadable("semaphore acquire", rows, true);
        return { ok: true, fence, ttlMs, expiresAt };
      }
      if (lim !== limit) return { ok: false, reason: "limit_mismatch", limit: lim };
      const earliest = integer(row.earliest);
      return earliest !== undefined && earliest > now
        ? { ok: false, reason: "held", retryAfterMs: earliest - now }
        : { ok: false, reason: "held" };
    },

    async extend({ key, token, ttlMs, signal }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const rows = await query("semaphore extend", sql.extend, [key, token, String(ttlMs)], signal, [token]);
      const [row] = rows;
      if (row === undefined) return { ok: false, reason: "not_held" };
      const fence = integer(row.fence);
      const expiresAt = integer(row.expires_at);
      if (rows.length > 1 || fence === undefined || expiresAt === undefined) {
        throw unreadable("semaphore extend", rows, true);
      }
      return { ok: true, fence, ttlMs, expiresAt };
    },

    async release({ key, token, signal }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const rows = await query("semaphore release", sql.release, [key, token], signal, [token]);
      if (rows.length === 0) return { ok: false, reason: "not_held" };
      if (rows.length > 1 || rows[0]?.outcome !== "released") throw unreadable("semaphore release", rows, true);
      return { ok: true };
    },

    async inspect(key, options): Promise<SemaphoreState> {
      const rows = await query("semaphore inspect", sql.inspect, [key], options?.signal, []);
      const permits: PermitState[] = [];
      let limit: number | null = null;
      for (const row of rows) {
        const fence = integer(row.fence);
        const expiresAt = integer(row.expires_at);
        const lim = integer(row.lim);
        const owner = row.owner;
        if (fence === undefined || expiresAt === undefined || lim === undefined) {
          throw unreadable("semaphore inspect", rows, false);
        }
        if (owner !== null && owner !== undefined && typeof owner !== "string") {
          throw unreadable("semaphore inspect", rows, false);
        }
        limit = lim;
        permits.push({ fence, expiresAt, ...(typeof owner === "string" ? { owner } : {}) });
      }
      return { limit, permits };
    },
  };
}
