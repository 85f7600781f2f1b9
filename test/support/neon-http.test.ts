import { NeonDbError } from "@neondatabase/serverless";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type NeonLocal, startNeonLocal } from "./postgres-neon.js";

// The local endpoint is tested with the driver itself, as real applications use it.
let pg: NeonLocal;
beforeAll(async () => {
  pg = await startNeonLocal();
}, 60_000);
afterAll(() => pg?.stop());

describe("local Neon endpoints in front of a real PostgreSQL", () => {
  test("HTTP mode: parameterised queries, typed results, one request each", async () => {
    const sql = pg.sql();
    const before = pg.http.requests();
    const rows = await sql.query("SELECT $1::int AS n, $2::text AS s, NULL::text AS nothing, now() AS at", [
      41,
      "é 🔒",
    ]);
    expect(rows).toEqual([{ n: 41, s: "é 🔒", nothing: null, at: expect.any(Date) }]);
    const tagged = await sql`SELECT ${"x"}::text || 'y' AS xy, version() AS v`;
    expect(tagged[0]?.xy).toBe("xy");
    expect(String(tagged[0]?.v)).toMatch(/^PostgreSQL 1\d/);
    expect(pg.http.requests() - before).toBe(2);
    const full = await sql.query("SELECT 1 AS one", [], { fullResults: true, arrayMode: true });
    expect(full).toMatchObject({ command: "SELECT", rowCount: 1, rows: [[1]] });
  });

  test("HTTP mode: transactions run atomically and roll back on error", async () => {
    const sql = pg.sql();
    await sql.query("CREATE TABLE IF NOT EXISTS fixture_tx (n int PRIMARY KEY)");
    const [, count] = await sql.transaction(
      [sql`INSERT INTO fixture_tx VALUES (1)`, sql`SELECT count(*)::int AS c FROM fixture_tx`],
      { isolationLevel: "Serializable" },
    );
    expect(count).toEqual([{ c: 1 }]);
    const failed = await sql
      .transaction([sql`INSERT INTO fixture_tx VALUES (2)`, sql`INSERT INTO fixture_tx VALUES (1)`])
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(NeonDbError);
    expect(failed).toMatchObject({ code: "23505", constraint: "fixture_tx_pkey" });
    expect(await sql`SELECT n FROM fixture_tx ORDER BY n`).toEqual([{ n: 1 }]);
  });

  test("HTTP mode: SQL errors carry their SQLSTATE; an unknown role is the server's auth error", async () => {
    const error = await pg
      .sql()
      .query("SELECT * FROM no_such_table")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: "42P01", severity: "ERROR" });
    const auth = await pg
      .sql({ user: "nobody" })
      .query("SELECT 1")
      .catch((e: unknown) => e);
    expect(auth).toMatchObject({ code: "28000" });
  });

  test("HTTP mode: requests go through the fetch the query function was made with", async () => {
    const seen: string[] = [];
    const sql = pg.sql({
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    await sql.query("SELECT 1");
    expect(seen).toEqual([pg.http.url]);
  });

  test("WebSocket mode: the Pool speaks the wire protocol through the relay", async () => {
    const pool = pg.pool();
    const before = pg.relay.connections();
    const { rows } = await pool.query("SELECT $1::text AS s, pg_backend_pid() AS pid", ["hi"]);
    expect(rows[0]).toMatchObject({ s: "hi", pid: expect.any(Number) });
    expect(pg.relay.connections()).toBeGreaterThan(before);
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const locked = await client.query("SELECT pg_try_advisory_xact_lock(42) AS ok");
      expect(locked.rows).toEqual([{ ok: true }]);
      await client.query("COMMIT");
    } finally {
      client.release();
    }
  });
});
