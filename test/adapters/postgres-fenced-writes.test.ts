import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLockTable, postgresAdapter } from "../../adapters/postgres/index.js";
import { createLocker, newToken } from "../../src/index.js";
import { type NeonLocal, startNeonLocal } from "../support/postgres-neon.js";
import { sleep } from "../support/timing.js";

let pg: NeonLocal;
beforeAll(async () => {
  pg = await startNeonLocal();
  await createLockTable({ sql: pg.sql() });
  await pg.sql().query("CREATE TABLE reports (id text PRIMARY KEY, body text NOT NULL, fence bigint NOT NULL)");
}, 120_000);
afterAll(() => pg?.stop());

// The pattern docs/guarded-state.md shows: the fence is compared in the write's own WHERE.
const UPSERT = `
INSERT INTO reports (id, body, fence) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, fence = EXCLUDED.fence
  WHERE reports.fence <= EXCLUDED.fence
RETURNING fence`;
const UPDATE = "UPDATE reports SET body = $2, fence = $3 WHERE id = $1 AND fence < $3 RETURNING fence";

describe("SQL fenced writes (PostgreSQL)", () => {
  test("a holder pauses past its TTL, another takes over and writes, the paused holder's late write is refused", async () => {
    const id = `report-${newToken()}`;
    const locker = () => createLocker({ adapter: postgresAdapter({ sql: pg.sql() }) });
    const paused = await locker().acquire(id, { ttlMs: 1_000 });
    await sleep(1_500);
    const next = await locker().acquire(id, { ttlMs: 10_000 });
    expect(next.fence).toBeGreaterThan(paused.fence);
    const sql = pg.sql();
    expect(await sql.query(UPSERT, [id, "next", next.fence])).toHaveLength(1);
    expect(await sql.query(UPSERT, [id, "next again", next.fence])).toHaveLength(1);
    // No row comes back: the stale write changed nothing.
    expect(await sql.query(UPSERT, [id, "paused", paused.fence])).toHaveLength(0);
    expect(await sql.query(UPDATE, [id, "paused", paused.fence])).toHaveLength(0);
    // The strict form (fence < $3) refuses a second write with the same fence.
    expect(await sql.query(UPDATE, [id, "same fence", next.fence])).toHaveLength(0);
    expect(await sql.query("SELECT body, fence FROM reports WHERE id = $1", [id])).toEqual([
      { body: "next again", fence: String(next.fence) },
    ]);
    await next.release();
  }, 60_000);
});
