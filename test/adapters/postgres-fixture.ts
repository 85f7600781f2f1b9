import type { Pool } from "@neondatabase/serverless";
import { afterAll, beforeAll } from "vitest";
import { createLockTable } from "../../adapters/postgres/index.js";
import { type NeonLocal, startNeonLocal } from "../support/postgres-neon.js";

/** What a PostgreSQL test file gets from {@link usePostgres}. */
export interface PostgresFixture {
  /** The running server and its two Neon routes; valid once the file's tests run. */
  pg(): NeonLocal;
  /** One WebSocket pool for setup and assertions, independent of the adapters under test. */
  admin(): Pool;
  /** The lock table's row of `key`, as stored. */
  row(key: string, table?: string): Promise<Record<string, unknown> | undefined>;
}

/** Start PostgreSQL (with the default lock table) for this test file, and stop it after. */
export function usePostgres(): PostgresFixture {
  let running: NeonLocal | undefined;
  let pool: Pool | undefined;
  const pg = () => {
    if (!running) throw new Error("PostgreSQL is not started yet");
    return running;
  };
  const admin = () => {
    pool ??= pg().pool();
    return pool;
  };
  beforeAll(async () => {
    running = await startNeonLocal();
    await createLockTable({ sql: running.sql() });
  }, 120_000);
  afterAll(() => running?.stop());
  return {
    pg,
    admin,
    row: async (key, table = "edgelock_locks") =>
      (await admin().query(`SELECT * FROM ${table} WHERE key = $1`, [key])).rows[0],
  };
}
