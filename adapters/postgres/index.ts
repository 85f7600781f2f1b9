/**
 * `edgelock/postgres`: locks in a PostgreSQL lease table, over the query
 * function of any driver, with first-class support for
 * `@neondatabase/serverless` (HTTP `neon()` and its WebSocket `Pool`).
 *
 * Why not advisory locks: `pg_try_advisory_lock` belongs to a session, and
 * over an HTTP driver every query is its own session, so the lock would end
 * with the query. For work inside one transaction, see
 * {@link tryAdvisoryXactLock}.
 *
 * @module
 */
import { InvalidArgumentError } from "../../src/errors.js";
import type {
  AdapterAcquireRequest,
  AdapterAcquireResult,
  AdapterCallOptions,
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
import { postgresFailure, unreadable } from "./failures.js";
import { lockTableNames } from "./names.js";
import { type DatabaseOptions, integer, type Query, runnerFor } from "./query.js";
import { postgresSemaphores } from "./semaphores.js";
import { acquireSql, extendSql, forceReleaseSql, inspectSql, readValueSql, releaseSql, writeValueSql } from "./sql.js";

export { tryAdvisoryXactLock } from "./advisory.js";
export { DEFAULT_TABLE } from "./names.js";
export type { DatabaseOptions, NeonHttpQuery, PoolQuery, QueryFunction } from "./query.js";
export { ADVISORY_XACT_LOCK_SQL, TRY_ADVISORY_XACT_LOCK_SQL } from "./sql.js";
export { cleanupLockTable, createLockTable, type LockTableOptions, lockTableStatements } from "./table.js";

/**
 * Largest guarded value, bytes of JSON (1 MiB): one `text` column, sent as one
 * statement parameter, well inside HTTP request limits.
 */
export const POSTGRES_MAX_VALUE_BYTES = 1_048_576;

/** Options of {@link postgresAdapter}: one database handle, and the table. */
export type PostgresAdapterOptions = DatabaseOptions & {
  /**
   * The lock table, `name` or `schema.name` (lower-case identifiers).
   * Default `"edgelock_locks"`. Create it with {@link createLockTable} or
   * the SQL of {@link lockTableStatements}.
   */
  readonly table?: string;
};

/**
 * Locks in a PostgreSQL table: one row per key (owner token, fence, expiry,
 * owner), each operation one SQL statement, expiry decided by the database
 * server's clock (`clock_timestamp()`), fences from a sequence that never
 * goes back.
 *
 * @example
 * ```ts
 * import { neon } from "@neondatabase/serverless";
 * import { createLocker } from "edgelock";
 * import { postgresAdapter } from "edgelock/postgres";
 *
 * const locker = createLocker({ adapter: postgresAdapter({ sql: neon(env.DATABASE_URL) }) });
 * await locker.withLock("nightly-report", async (lease) => runReport(lease.fence));
 * ```
 *
 * @example
 * ```ts
 * import { Pool } from "@neondatabase/serverless"; // or pg's Pool
 * const adapter = postgresAdapter({ pool: new Pool({ connectionString }), table: "app.locks" });
 * ```
 */
export function postgresAdapter(options: PostgresAdapterOptions): LockAdapter {
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgumentError("postgresAdapter needs options: { sql }, { pool } or { query }");
  }
  const names = lockTableNames(options.table);
  const run = runnerFor(options);
  const statements = {
    acquire: acquireSql(names),
    extend: extendSql(names),
    release: releaseSql(names),
    forceRelease: forceReleaseSql(names),
    inspect: inspectSql(names),
    readValue: readValueSql(names),
    writeValue: writeValueSql(names),
  };

  const capabilities: AdapterCapabilities = {
    name: "postgres",
    clock: "backend",
    clockSkewMarginMs: 0,
    // timestamptz has microsecond resolution; the shared cap keeps local deadline timers exact.
    ttl: { minMs: 1, maxMs: MAX_DURATION_MS, granularityMs: 1 },
    fencing: { native: true },
    pushWakeups: false,
    requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    forceRelease: { requests: 1 },
    guardedValue: { maxBytes: POSTGRES_MAX_VALUE_BYTES, requestsPerOperation: { read: 1, write: 1 } },
  };

  const query: Query = async (what, text, params, signal, secrets) => {
    try {
      return await run(text, params, signal ?? new AbortController().signal);
    } catch (error) {
      throw postgresFailure(error, `PostgreSQL ${what}`, secrets);
    }
  };

  return {
    capabilities,
    semaphores: postgresSemaphores(names, query),

    async acquire({ key, token, ttlMs, owner, signal }: AdapterAcquireRequest): Promise<AdapterAcquireResult> {
      const rows = await query("acquire", statements.acquire, [key, token, String(ttlMs), owner ?? null], signal, [
        token,
      ]);
      const [row] = rows;
      if (rows.length > 1) throw unreadable("acquire", rows, true);
      if (row === undefined) return { ok: false, reason: "held" };
      if (row.outcome === "granted") {
        const fence = integer(row.fence);
        const expiresAt = integer(row.expires_at);
        if (fence === undefined || fence < 1 || expiresAt === undefined) throw unreadable("acquire", rows, true);
        return { ok: true, fence, ttlMs, expiresAt };
      }
      const expiresAt = integer(row.expires_at);
      const now = integer(row.now);
      if (row.outcome !== "held" || expiresAt === undefined || now === undefined) {
        throw unreadable("acquire", rows, true);
      }
      const left = expiresAt - now;
      return left > 0 ? { ok: false, reason: "held", retryAfterMs: left } : { ok: false, reason: "held" };
    },

    async extend({ key, token, ttlMs, signal }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const rows = await query("extend", statements.extend, [key, token, String(ttlMs)], signal, [token]);
      const [row] = rows;
      if (row === undefined) return { ok: false, reason: "not_held" };
      const fence = integer(row.fence);
      const expiresAt = integer(row.expires_at);
      if (rows.length > 1 || fence === undefined || expiresAt === undefined) throw unreadable("extend", rows, true);
      return { ok: true, fence, ttlMs, expiresAt };
    },

    async release({ key, token, signal }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const rows = await query("release", statements.release, [key, token], signal, [token]);
      if (rows.length === 0) return { ok: false, reason: "not_held" };
      if (rows.length > 1 || rows[0]?.outcome !== "released") throw unreadable("release", rows, true);
      return { ok: true };
    },

    async forceRelease({ key, fence, signal }: AdapterForceReleaseRequest): Promise<AdapterForceReleaseResult> {
      const rows = await query("forceRelease", statements.forceRelease, [key, String(fence)], signal, []);
      if (rows.length === 0) return { ok: false, reason: "not_held" };
      if (rows.length > 1 || rows[0]?.outcome !== "released") throw unreadable("forceRelease", rows, true);
      return { ok: true };
    },

    async inspect(key: string, callOptions?: AdapterCallOptions): Promise<LockState> {
      const rows = await query("inspect", statements.inspect, [key], callOptions?.signal, []);
      const [row] = rows;
      if (row === undefined) return { held: false };
      const fence = integer(row.fence);
      const expiresAt = integer(row.expires_at);
      const owner = row.owner;
      if (rows.length > 1 || fence === undefined || expiresAt === undefined) throw unreadable("inspect", rows, false);
      if (owner !== null && owner !== undefined && typeof owner !== "string") throw unreadable("inspect", rows, false);
      return { held: true, fence, expiresAt, ...(typeof owner === "string" ? { owner } : {}) };
    },

    async readValue(key: string, callOptions?: AdapterCallOptions): Promise<StoredValue> {
      const rows = await query("readValue", statements.readValue, [key], callOptions?.signal, []);
      const [row] = rows;
      if (row === undefined) return { json: undefined, version: 0, fence: 0 };
      const version = integer(row.version);
      const fence = integer(row.fence);
      const json = row.value_json;
      if (rows.length > 1 || version === undefined || fence === undefined) throw unreadable("readValue", rows, false);
      if (json !== null && json !== undefined && typeof json !== "string") throw unreadable("readValue", rows, false);
      return { json: typeof json === "string" ? json : undefined, version, fence };
    },

    async writeValue({
      key,
      token,
      json,
      writeId,
      expectedVersion,
      signal,
    }: AdapterWriteRequest): Promise<AdapterWriteResult> {
      const params = [key, token, json, writeId, expectedVersion === undefined ? null : String(expectedVersion)];
      const rows = await query("writeValue", statements.writeValue, params, signal, [token, writeId]);
      const [row] = rows;
      if (row === undefined) return { ok: false, reason: "not_held" };
      const version = integer(row.version);
      const fence = integer(row.fence);
      if (rows.length > 1 || version === undefined || fence === undefined) throw unreadable("writeValue", rows, true);
      if (row.applied === "true") return { ok: true, version, fence };
      if (row.applied === "false") return { ok: false, reason: "version_mismatch", version };
      throw unreadable("writeValue", rows, true);
    },
  };
}
