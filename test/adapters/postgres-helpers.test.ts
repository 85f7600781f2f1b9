import { describe, expect, test } from "vitest";
import {
  ADVISORY_XACT_LOCK_SQL,
  cleanupLockTable,
  createLockTable,
  lockTableStatements,
  postgresAdapter,
  tryAdvisoryXactLock,
} from "../../adapters/postgres/index.js";
import { BackendRejectedError, InvalidArgumentError, newToken } from "../../src/index.js";
import { usePostgres } from "./postgres-fixture.js";

const { pg, admin } = usePostgres();

// The table helpers, grants, transaction-scoped advisory locks and option checks.
describe("postgres helpers", () => {
  test("createLockTable migrates a schema 1 table in place; the cleanup keeps rows that carry a guarded value", async () => {
    const table = `v1_${newToken()
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")}`.slice(0, 30);
    // Schema 1 exactly as earlier releases created it, with a lock already in it.
    await admin().query(`CREATE SEQUENCE IF NOT EXISTS ${table}_fence AS bigint MINVALUE 1 NO CYCLE`);
    await admin().query(
      `CREATE TABLE ${table} (key text PRIMARY KEY, token text, fence bigint NOT NULL, expires_at timestamptz NOT NULL, owner text)`,
    );
    const adapter = postgresAdapter({ pool: pg().pool(), table });
    const token = newToken();
    const grant = await adapter.acquire({ key: "held", token, ttlMs: 60_000 });
    if (!grant.ok) throw new Error("expected a grant");
    await expect(adapter.readValue?.("held")).rejects.toThrow();
    await createLockTable({ sql: pg().sql(), table });
    await createLockTable({ sql: pg().sql(), table });
    // The lock survived the migration, and the value columns work.
    expect(await adapter.inspect("held")).toMatchObject({ held: true, fence: grant.fence });
    const written = await adapter.writeValue?.({ key: "held", token, json: '"v"', writeId: newToken() });
    expect(written).toEqual({ ok: true, version: 1, fence: grant.fence });
    const deleted = await adapter.writeValue?.({ key: "held", token, json: null, writeId: newToken() });
    expect(deleted).toEqual({ ok: true, version: 2, fence: grant.fence });
    expect(await adapter.release({ key: "held", token })).toEqual({ ok: true });
    const plain = newToken();
    await adapter.acquire({ key: "plain", token: plain, ttlMs: 60_000 });
    await adapter.release({ key: "plain", token: plain });
    await admin().query(`UPDATE ${table} SET expires_at = clock_timestamp() - interval '2 hours'`);
    // Only the row without a value goes: the deleted value's row keeps its version counter.
    expect(await cleanupLockTable({ pool: pg().pool(), table })).toBe(1);
    expect(await adapter.readValue?.("held")).toEqual({ json: undefined, version: 2, fence: grant.fence });
    const next = newToken();
    const again = await adapter.acquire({ key: "held", token: next, ttlMs: 60_000 });
    const third = await adapter.writeValue?.({ key: "held", token: next, json: "3", writeId: newToken() });
    expect(third).toMatchObject({ ok: true, version: 3, fence: again.ok ? again.fence : -1 });
  });

  test("createLockTable is idempotent, also run concurrently, and lockTableStatements is its SQL", async () => {
    const table = `app_${newToken()
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")}.locks`.slice(0, 40);
    const schema = table.split(".")[0] ?? "";
    await admin().query(`CREATE SCHEMA ${schema}`);
    await Promise.all([
      createLockTable({ sql: pg().sql(), table }),
      createLockTable({ pool: pg().pool(), table }),
      createLockTable({ sql: pg().sql(), table }),
    ]);
    await createLockTable({ sql: pg().sql(), table });
    const adapter = postgresAdapter({ sql: pg().sql(), table });
    expect(await adapter.acquire({ key: "x", token: newToken(), ttlMs: 5_000 })).toMatchObject({ ok: true });
    const statements = lockTableStatements({ table });
    expect(statements[0]).toMatch(/^CREATE SEQUENCE IF NOT EXISTS ".+"\."locks_fence"/);
    expect(statements[1]).toMatch(/CREATE TABLE IF NOT EXISTS ".+"\."locks"/);
    const { rows } = await admin().query(
      "SELECT obj_description($1::regclass, 'pg_class') AS comment, (SELECT count(*) FROM pg_depend WHERE objid = $2::regclass AND deptype = 'a')::int AS owned",
      [table, `${table}_fence`],
    );
    expect(rows[0]).toMatchObject({ comment: expect.stringMatching(/schema 2/), owned: 0 });
    for (const bad of ["Locks", "a.b.c", "x;drop", "", "1abc", "a".repeat(58)]) {
      expect(() => lockTableStatements({ table: bad }), bad).toThrow(InvalidArgumentError);
      expect(() => postgresAdapter({ sql: pg().sql(), table: bad }), bad).toThrow(InvalidArgumentError);
    }
    await expect(cleanupLockTable({ sql: pg().sql(), olderThanMs: 1_000 })).rejects.toThrow(InvalidArgumentError);
  });

  test("a role with only the documented grants runs the adapter; creating the table needs more", async () => {
    await admin().query("CREATE ROLE app_only LOGIN");
    await admin().query("GRANT SELECT, INSERT, UPDATE ON edgelock_locks TO app_only");
    await admin().query("GRANT USAGE ON SEQUENCE edgelock_locks_fence TO app_only");
    const adapter = postgresAdapter({ sql: pg().sql({ user: "app_only" }) });
    const key = `grants-${newToken()}`;
    const token = newToken();
    expect(await adapter.acquire({ key, token, ttlMs: 5_000 })).toMatchObject({ ok: true });
    expect(await adapter.extend({ key, token, ttlMs: 5_000 })).toMatchObject({ ok: true });
    expect(await adapter.inspect(key)).toMatchObject({ held: true });
    expect(await adapter.release({ key, token })).toEqual({ ok: true });
    const error = await createLockTable({ sql: pg().sql({ user: "app_only" }), table: "app_only_locks" }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect((error as Error).message).toMatch(/42501/);
  });

  test("transaction-scoped advisory locks: one transaction at a time, released at commit", async () => {
    const pool = pg().pool();
    const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
    if (!a || !b) throw new Error("expected two connections");
    const key = `advisory-${newToken()}`;
    try {
      await a.query("BEGIN");
      await b.query("BEGIN");
      expect(await tryAdvisoryXactLock(a, key)).toBe(true);
      expect(await tryAdvisoryXactLock(a, key)).toBe(true); // re-entrant within the transaction
      expect(await tryAdvisoryXactLock(b, key)).toBe(false);
      expect(await tryAdvisoryXactLock(b, `${key}-other`)).toBe(true);
      await a.query("COMMIT");
      expect(await tryAdvisoryXactLock(b, key)).toBe(true);
      await b.query("ROLLBACK");
    } finally {
      a.release();
      b.release();
    }
    // Over HTTP, the waiting form goes first in a batch; the batch runs in one transaction.
    const sql = pg().sql();
    const [, counted] = await sql.transaction([
      sql.query(ADVISORY_XACT_LOCK_SQL, [key]),
      sql.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"),
    ]);
    expect(counted).toEqual([{ n: 1 }]);
    await expect(tryAdvisoryXactLock(pool, "")).rejects.toThrow(InvalidArgumentError);
  });

  test("bad options are refused with InvalidArgumentError", () => {
    const bad: unknown[] = [
      undefined,
      {},
      { sql: {} },
      { pool: 1 },
      { query: "SELECT" },
      { sql: pg().sql(), pool: pg().pool() },
      { sql: pg().sql(), table: 5 },
    ];
    for (const [index, options] of bad.entries()) {
      expect(() => postgresAdapter(options as never), `bad options #${index}`).toThrow(InvalidArgumentError);
    }
    expect(postgresAdapter({ sql: pg().sql() }).capabilities).toMatchObject({
      name: "postgres",
      clock: "backend",
      clockSkewMarginMs: 0,
      requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    });
  });
});
