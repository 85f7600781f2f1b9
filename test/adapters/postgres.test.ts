import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  ADVISORY_XACT_LOCK_SQL,
  cleanupLockTable,
  createLockTable,
  lockTableStatements,
  postgresAdapter,
  tryAdvisoryXactLock,
} from "../../adapters/postgres/index.js";
import {
  BackendError,
  BackendRejectedError,
  createLocker,
  InvalidArgumentError,
  type LockAdapter,
  newToken,
} from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";
import { freePort } from "../support/ports.js";
import { type NeonLocal, startNeonLocal } from "../support/postgres-neon.js";

let pg: NeonLocal;
beforeAll(async () => {
  pg = await startNeonLocal();
  await createLockTable({ sql: pg.sql() });
}, 120_000);
afterAll(() => pg?.stop());

// HTTP mode, neon(): every statement is one request, counted and faulted by the suite.
describeConformance({
  name: "postgres over neon() HTTP",
  create: (wire) => postgresAdapter({ sql: pg.sql({ fetch: wire.fetch }) }),
});

// WebSocket mode, the driver's Pool over the relay (the real wire protocol): each
// instance has its own Pool, and every query on it is one counted, faultable request.
describeConformance({
  name: "postgres over the WebSocket Pool",
  create: (wire) => {
    const pool = pg.pool();
    return postgresAdapter({ pool: { query: (text, values) => wire.request(() => pool.query(text, values)) } });
  },
});

describe("postgres specifics", () => {
  const counting = () => {
    const bodies: string[] = [];
    const sql = pg.sql({
      fetch: (input, init) => {
        bodies.push(String(init?.body));
        return fetch(input, init);
      },
    });
    return { bodies, adapter: postgresAdapter({ sql }) };
  };
  const admin = () => pg.pool();
  const row = async (key: string, table = "edgelock_locks") =>
    (await admin().query(`SELECT * FROM ${table} WHERE key = $1`, [key])).rows[0];

  test("one request per operation; refusal, own retry and the holder's remaining time in the same answer", async () => {
    const { bodies, adapter } = counting();
    const key = `one-${newToken()}`;
    const token = newToken();
    const grant = await adapter.acquire({ key, token, ttlMs: 30_000, owner: "worker-1" });
    if (!grant.ok) throw new Error("expected a grant");
    const retry = await adapter.acquire({ key, token, ttlMs: 60_000 });
    expect(retry).toMatchObject({ ok: true, fence: grant.fence, ttlMs: 60_000 });
    const refusal = await adapter.acquire({ key, token: newToken(), ttlMs: 1_000 });
    expect(refusal).toMatchObject({ ok: false, reason: "held" });
    if (!refusal.ok) expect(refusal.retryAfterMs).toBeGreaterThan(55_000);
    expect(await adapter.extend({ key, token, ttlMs: 10_000 })).toMatchObject({ ok: true, fence: grant.fence });
    expect(await adapter.inspect(key)).toMatchObject({ held: true, fence: grant.fence });
    expect(await adapter.release({ key, token })).toEqual({ ok: true });
    expect(await adapter.release({ key, token })).toEqual({ ok: false, reason: "not_held" });
    expect(bodies).toHaveLength(7);
    // Parameterised: neither the token nor the key is ever part of the SQL text.
    for (const body of bodies) expect((JSON.parse(body) as { query: string }).query).not.toContain(token);
    expect(await row(key)).toMatchObject({ token: null, owner: null, fence: String(grant.fence) });
  });

  test("the fence never goes back: not after rows are deleted, cleaned up, or the table is recreated", async () => {
    const adapter = postgresAdapter({ pool: pg.pool(), table: "fence_check" });
    await createLockTable({ pool: pg.pool(), table: "fence_check" });
    const fences: number[] = [];
    const take = async (key: string) => {
      const token = newToken();
      const grant = await adapter.acquire({ key, token, ttlMs: 60_000 });
      if (!grant.ok) throw new Error("expected a grant");
      fences.push(grant.fence);
      await adapter.release({ key, token });
    };
    await take("a");
    await take("a");
    await admin().query("DELETE FROM fence_check WHERE key = 'a'");
    await take("a");
    await admin().query("UPDATE fence_check SET expires_at = clock_timestamp() - interval '2 hours'");
    expect(await cleanupLockTable({ pool: pg.pool(), table: "fence_check" })).toBe(1);
    await take("a");
    await admin().query("DROP TABLE fence_check");
    await createLockTable({ pool: pg.pool(), table: "fence_check" });
    await take("a");
    await take("b");
    expect(fences).toHaveLength(6);
    for (let i = 1; i < fences.length; i++)
      expect(fences[i]).toBeGreaterThan(fences[i - 1] ?? Number.POSITIVE_INFINITY);
  });

  test("concurrent takeovers of an expiring key on separate pools: the row ends on the round's highest fence", async () => {
    const adapters = Array.from({ length: 4 }, () => postgresAdapter({ pool: pg.pool({ max: 2 }) }));
    const key = `takeover-${newToken()}`;
    let previous = 0;
    let granted = 0;
    for (let round = 0; round < 15; round++) {
      const answers = await Promise.all(
        adapters.map((adapter) => adapter.acquire({ key, token: newToken(), ttlMs: 1 })),
      );
      const fences = answers.flatMap((answer) => (answer.ok ? [answer.fence] : []));
      granted += fences.length;
      expect(new Set(fences).size).toBe(fences.length);
      // A round starts after the last one ended: all its fences are higher.
      expect(Math.min(...fences)).toBeGreaterThan(previous);
      previous = Math.max(...fences);
      // Takeovers in one round commit one after another on the row lock; the
      // last to commit must hold the highest fence (a fence drawn before
      // waiting for the row lock would break this).
      expect(Number((await row(key))?.fence)).toBe(previous);
    }
    expect(granted).toBeGreaterThanOrEqual(15);
  });

  test("a takeover that waited on the row lock draws its fence after the wait, above any fence committed meanwhile", async () => {
    const adapter = postgresAdapter({ pool: pg.pool() });
    const key = `wait-${newToken()}`;
    const first = newToken();
    await adapter.acquire({ key, token: first, ttlMs: 60_000 });
    await adapter.release({ key, token: first });
    const blocker = await pg.pool().connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT 1 FROM edgelock_locks WHERE key = $1 FOR UPDATE", [key]);
      const pending = adapter.acquire({ key, token: newToken(), ttlMs: 60_000 });
      // Wait until the acquire is really queued on the row lock.
      for (let i = 0; ; i++) {
        const { rows } = await admin().query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%edgelock_locks%'",
        );
        if (rows[0]?.n === 1) break;
        if (i > 200) throw new Error("the acquire never waited on the row lock");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      // Meanwhile another grant (and release) of the key commits, with a freshly drawn fence.
      const { rows } = await blocker.query(
        "UPDATE edgelock_locks SET fence = nextval('edgelock_locks_fence'), token = NULL WHERE key = $1 RETURNING fence::text AS fence",
        [key],
      );
      await blocker.query("COMMIT");
      const grant = await pending;
      if (!grant.ok) throw new Error("expected a grant");
      expect(grant.fence).toBeGreaterThan(Number(rows[0]?.fence));
    } finally {
      blocker.release();
    }
  });

  test("expiry is the server's clock: the client's clock does not enter into it", async () => {
    const { adapter } = counting();
    const key = `clock-${newToken()}`;
    const { rows } = await admin().query("SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now");
    const serverNow = Number(rows[0]?.now);
    const grant = await adapter.acquire({ key, token: newToken(), ttlMs: 30_000 });
    if (!grant.ok) throw new Error("expected a grant");
    expect(grant.expiresAt - serverNow).toBeGreaterThanOrEqual(30_000);
    expect(grant.expiresAt - serverNow).toBeLessThan(31_000);
    // A client clock an hour ahead changes nothing: the lock is still held...
    const spy = vi.spyOn(Date, "now").mockReturnValue(Date.now() + 3_600_000);
    try {
      expect(await adapter.acquire({ key, token: newToken(), ttlMs: 1_000 })).toMatchObject({ ok: false });
    } finally {
      spy.mockRestore();
    }
    // ...and once the server's record says it ended, it has ended, whatever the client thinks.
    await admin().query("UPDATE edgelock_locks SET expires_at = clock_timestamp() - interval '1 ms' WHERE key = $1", [
      key,
    ]);
    expect(await adapter.inspect(key)).toEqual({ held: false });
    const next = await adapter.acquire({ key, token: newToken(), ttlMs: 1_000 });
    expect(next).toMatchObject({ ok: true });
    if (next.ok) expect(next.fence).toBeGreaterThan(grant.fence);
  });

  test("the owner token never appears in an error, even when the driver echoes parameters", async () => {
    const token = newToken();
    const echoing = postgresAdapter({
      query: async (text, params) => {
        const error = new Error(`Failed query: ${text.slice(0, 30)} params: ${params.join(",")}`);
        throw Object.assign(error, { params, cause: new Error(`inner ${params[1]}`) });
      },
    });
    const failures = [
      await echoing.acquire({ key: "k", token, ttlMs: 1_000 }).catch((e: unknown) => e),
      await echoing.release({ key: "k", token }).catch((e: unknown) => e),
      await postgresAdapter({ sql: pg.sql(), table: "no_such_table" })
        .acquire({ key: "k", token, ttlMs: 1_000 })
        .catch((e: unknown) => e),
      await postgresAdapter({ sql: pg.sql({ user: "nobody" }) })
        .extend({ key: "k", token, ttlMs: 1_000 })
        .catch((e: unknown) => e),
    ];
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(Error);
      const error = failure as Error;
      const seen = `${error.message} ${error.stack} ${String(error.cause)} ${JSON.stringify(error.cause)} ${(error.cause as Error | undefined)?.stack}`;
      expect(seen).not.toContain(token);
    }
    expect((failures[0] as Error).message).toContain("[redacted]");
  });

  test("SQL and auth errors are BackendRejectedError; transport failures may have been applied", async () => {
    const missing = await postgresAdapter({ sql: pg.sql(), table: "no_such_table" })
      .inspect("k")
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BackendRejectedError);
    expect((missing as Error).message).toMatch(/42P01/);
    const auth = await postgresAdapter({ pool: pg.pool({ user: "nobody" }) })
      .inspect("k")
      .catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(BackendRejectedError);
    expect((auth as Error).message).toMatch(/28000/);

    const port = await freePort();
    const down = await postgresAdapter({
      sql: pg.sql({ fetch: (_input, init) => fetch(`http://127.0.0.1:${port}/sql`, init) }),
    })
      .acquire({ key: "k", token: newToken(), ttlMs: 1_000 })
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(BackendError);
    expect(down).toMatchObject({ maybeApplied: true, retryable: true });

    const bad = (status: number) =>
      postgresAdapter({ sql: pg.sql({ fetch: async () => new Response("upstream says no", { status }) }) })
        .release({ key: "k", token: newToken() })
        .catch((e: unknown) => e);
    expect(await bad(502)).toMatchObject({ maybeApplied: true, status: 502 });
    expect(await bad(429)).toMatchObject({ maybeApplied: false, status: 429 });
    expect(await bad(401)).toBeInstanceOf(BackendRejectedError);
  });

  test("SQLSTATE classes decide retryable, maybe applied or rejected", async () => {
    const failing = (code: string) =>
      postgresAdapter({ query: async () => Promise.reject(Object.assign(new Error(`injected ${code}`), { code })) })
        .acquire({ key: "k", token: newToken(), ttlMs: 1_000 })
        .catch((e: unknown) => e);
    for (const code of ["40001", "40P01", "55P03", "53300", "57014"]) {
      const error = await failing(code);
      expect(error, code).toBeInstanceOf(BackendError);
      expect(error, code).toMatchObject({ maybeApplied: false, retryable: true });
    }
    for (const code of ["08006", "57P01", "58030", "XX000"]) {
      expect(await failing(code), code).toMatchObject({ maybeApplied: true, retryable: true });
    }
    for (const code of ["28P01", "42501", "42P01", "3D000", "22P02"]) {
      expect(await failing(code), code).toBeInstanceOf(BackendRejectedError);
    }
    // Not a SQLSTATE (Node errnos): a transport failure that may have been applied.
    expect(await failing("ECONNRESET")).toMatchObject({ maybeApplied: true });
    expect(await failing("EPIPE")).toMatchObject({ maybeApplied: true });
  });

  test("the call's AbortSignal reaches fetch; a Pool call stops waiting at once", async () => {
    let seen: AbortSignal | undefined;
    const adapter = postgresAdapter({
      sql: pg.sql({
        fetch: (input, init) => {
          seen = init?.signal ?? undefined;
          return fetch(input, init);
        },
      }),
    });
    const controller = new AbortController();
    const pending = adapter.inspect("aborted", { signal: controller.signal });
    controller.abort(new Error("gave up"));
    expect(await pending.catch((e: unknown) => e)).toMatchObject({ maybeApplied: true });
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(seen?.aborted).toBe(true);

    const hanging = postgresAdapter({ pool: { query: () => new Promise(() => {}) } });
    const error = await hanging
      .acquire({ key: "k", token: newToken(), ttlMs: 1_000, signal: AbortSignal.timeout(50) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ maybeApplied: true });
  });

  test("createLockTable is idempotent, also run concurrently, and lockTableStatements is its SQL", async () => {
    const table = `app_${newToken()
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "")}.locks`.slice(0, 40);
    const schema = table.split(".")[0] ?? "";
    await admin().query(`CREATE SCHEMA ${schema}`);
    await Promise.all([
      createLockTable({ sql: pg.sql(), table }),
      createLockTable({ pool: pg.pool(), table }),
      createLockTable({ sql: pg.sql(), table }),
    ]);
    await createLockTable({ sql: pg.sql(), table });
    const adapter = postgresAdapter({ sql: pg.sql(), table });
    expect(await adapter.acquire({ key: "x", token: newToken(), ttlMs: 5_000 })).toMatchObject({ ok: true });
    const statements = lockTableStatements({ table });
    expect(statements[0]).toMatch(/^CREATE SEQUENCE IF NOT EXISTS ".+"\."locks_fence"/);
    expect(statements[1]).toMatch(/CREATE TABLE IF NOT EXISTS ".+"\."locks"/);
    const { rows } = await admin().query(
      "SELECT obj_description($1::regclass, 'pg_class') AS comment, (SELECT count(*) FROM pg_depend WHERE objid = $2::regclass AND deptype = 'a')::int AS owned",
      [table, `${table}_fence`],
    );
    expect(rows[0]).toMatchObject({ comment: expect.stringMatching(/schema 1/), owned: 0 });
    for (const bad of ["Locks", "a.b.c", "x;drop", "", "1abc", "a".repeat(58)]) {
      expect(() => lockTableStatements({ table: bad }), bad).toThrow(InvalidArgumentError);
      expect(() => postgresAdapter({ sql: pg.sql(), table: bad }), bad).toThrow(InvalidArgumentError);
    }
    await expect(cleanupLockTable({ sql: pg.sql(), olderThanMs: 1_000 })).rejects.toThrow(InvalidArgumentError);
  });

  test("transaction-scoped advisory locks: one transaction at a time, released at commit", async () => {
    const pool = pg.pool();
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
    const sql = pg.sql();
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
      { sql: pg.sql(), pool: pg.pool() },
      { sql: pg.sql(), table: 5 },
    ];
    for (const [index, options] of bad.entries()) {
      expect(() => postgresAdapter(options as never), `bad options #${index}`).toThrow(InvalidArgumentError);
    }
    expect(postgresAdapter({ sql: pg.sql() }).capabilities).toMatchObject({
      name: "postgres",
      clock: "backend",
      clockSkewMarginMs: 0,
      requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    });
  });

  test("latency through the lock client (median of 200 warm operations each, HTTP and WebSocket)", async () => {
    const paths: [string, LockAdapter][] = [
      ["neon() HTTP via the local endpoint", postgresAdapter({ sql: pg.sql() })],
      ["WebSocket Pool via the relay", postgresAdapter({ pool: pg.pool() })],
    ];
    for (const [label, measured] of paths) {
      const locker = createLocker({ adapter: measured, namespace: "latency:" });
      const samples = { acquire: [] as number[], extend: [] as number[], release: [] as number[] };
      for (let i = 0; i < 220; i++) {
        let t = performance.now();
        const lease = await locker.tryAcquire(`k${i % 10}`, { ttlMs: 10_000 });
        if (!lease) throw new Error("expected a lease");
        const acquired = performance.now() - t;
        t = performance.now();
        await lease.extend();
        const extended = performance.now() - t;
        t = performance.now();
        await lease.release();
        const released = performance.now() - t;
        if (i >= 20) {
          samples.acquire.push(acquired);
          samples.extend.push(extended);
          samples.release.push(released);
        }
      }
      const at = (values: number[], q: number) =>
        [...values].sort((x, y) => x - y)[Math.floor(q * (values.length - 1))] ?? 0;
      const line = Object.entries(samples)
        .map(([op, values]) => `${op} p50 ${at(values, 0.5).toFixed(2)} ms, p95 ${at(values, 0.95).toFixed(2)} ms`)
        .join("; ");
      console.log(`postgres adapter, ${label}: ${line}`);
      for (const values of Object.values(samples)) expect(values).toHaveLength(200);
    }
  }, 120_000);
});
