import { describe, expect, test, vi } from "vitest";
import { cleanupLockTable, createLockTable, postgresAdapter } from "../../adapters/postgres/index.js";
import { newToken } from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";
import { usePostgres } from "./postgres-fixture.js";

const { pg, admin, row } = usePostgres();

// HTTP mode, neon(): every statement is one request, counted and faulted by the suite.
describeConformance({
  name: "postgres over neon() HTTP",
  create: (wire) => postgresAdapter({ sql: pg().sql({ fetch: wire.fetch }) }),
});

// WebSocket mode, the driver's Pool over the relay (the real wire protocol): each
// instance has its own Pool, and every query on it is one counted, faultable request.
describeConformance({
  name: "postgres over the WebSocket Pool",
  create: (wire) => {
    const pool = pg().pool();
    return postgresAdapter({ pool: { query: (text, values) => wire.request(() => pool.query(text, values)) } });
  },
});

describe("postgres specifics", () => {
  const counting = () => {
    const bodies: string[] = [];
    const sql = pg().sql({
      fetch: (input, init) => {
        bodies.push(String(init?.body));
        return fetch(input, init);
      },
    });
    return { bodies, adapter: postgresAdapter({ sql }) };
  };

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

  test("neon() made with arrayMode or fullResults still works: the adapter asks for plain rows per call", async () => {
    const adapter = postgresAdapter({ sql: pg().sql({ neon: { arrayMode: true, fullResults: true } }) });
    const key = `modes-${newToken()}`;
    const token = newToken();
    expect(await adapter.acquire({ key, token, ttlMs: 5_000, owner: "o" })).toMatchObject({ ok: true });
    expect(await adapter.inspect(key)).toMatchObject({ held: true, owner: "o" });
    expect(await adapter.release({ key, token })).toEqual({ ok: true });
  });

  test("the fence never goes back: not after rows are deleted, cleaned up, or the table is recreated", async () => {
    const adapter = postgresAdapter({ pool: pg().pool(), table: "fence_check" });
    await createLockTable({ pool: pg().pool(), table: "fence_check" });
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
    // A lock released just now, and a live one, are not cleaned up.
    const live = await adapter.acquire({ key: "live", token: newToken(), ttlMs: 60_000 });
    expect(await cleanupLockTable({ pool: pg().pool(), table: "fence_check", olderThanMs: 60_000 })).toBe(0);
    expect(await adapter.inspect("live")).toMatchObject({ held: true, fence: live.ok ? live.fence : -1 });
    await admin().query("DELETE FROM fence_check WHERE key = 'live'");
    await admin().query("UPDATE fence_check SET expires_at = clock_timestamp() - interval '2 hours'");
    expect(await cleanupLockTable({ pool: pg().pool(), table: "fence_check" })).toBe(1);
    await take("a");
    await admin().query("DROP TABLE fence_check");
    await createLockTable({ pool: pg().pool(), table: "fence_check" });
    await take("a");
    await take("b");
    expect(fences).toHaveLength(6);
    for (let i = 1; i < fences.length; i++)
      expect(fences[i]).toBeGreaterThan(fences[i - 1] ?? Number.POSITIVE_INFINITY);
  });

  test("concurrent takeovers of an expiring key on separate pools: the row ends on the round's highest fence", async () => {
    const adapters = Array.from({ length: 4 }, () => postgresAdapter({ pool: pg().pool({ max: 2 }) }));
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
    const adapter = postgresAdapter({ pool: pg().pool() });
    const key = `wait-${newToken()}`;
    const first = newToken();
    await adapter.acquire({ key, token: first, ttlMs: 60_000 });
    await adapter.release({ key, token: first });
    const blocker = await pg().pool().connect();
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

  test("semaphores: one statement each, a retry keeps its permit, concurrent acquires on separate pools never exceed the limit", async () => {
    const { bodies, adapter } = counting();
    const semaphores = adapter.semaphores;
    if (!semaphores) throw new Error("expected semaphores");
    const key = `sem-${newToken()}`;
    const token = newToken();
    const grant = await semaphores.acquire({ key, token, ttlMs: 30_000, limit: 2, owner: "w" });
    if (!grant.ok) throw new Error("expected a permit");
    expect(await semaphores.acquire({ key, token, ttlMs: 30_000, limit: 2 })).toMatchObject({ fence: grant.fence });
    expect(await semaphores.acquire({ key, token: newToken(), ttlMs: 30_000, limit: 3 })).toEqual({
      ok: false,
      reason: "limit_mismatch",
      limit: 2,
    });
    expect(await semaphores.extend({ key, token, ttlMs: 10_000 })).toMatchObject({ ok: true, fence: grant.fence });
    expect(await semaphores.inspect(key)).toMatchObject({ limit: 2, permits: [{ fence: grant.fence, owner: "w" }] });
    expect(await semaphores.release({ key, token })).toEqual({ ok: true });
    expect(bodies).toHaveLength(6);
    for (const body of bodies) expect((JSON.parse(body) as { query: string }).query).not.toContain(token);
    // Contenders wait on the key's row lock; each must count the permits committed during its wait.
    const contenders = Array.from({ length: 6 }, () => postgresAdapter({ pool: pg().pool({ max: 1 }) }).semaphores);
    const raced = `sem-race-${newToken()}`;
    for (let round = 0; round < 8; round++) {
      const answers = await Promise.all(
        contenders.map((one) => one?.acquire({ key: raced, token: newToken(), ttlMs: 60_000, limit: 3 })),
      );
      const granted = answers.filter((answer) => answer?.ok);
      expect(granted).toHaveLength(round === 0 ? 3 : 0);
      expect((await semaphores.inspect(raced)).permits).toHaveLength(3);
    }
  }, 60_000);

  test("expiry is the server's clock: the client's clock does not enter into it", async () => {
    const { adapter } = counting();
    const key = `clock-${newToken()}`;
    const { rows } = await admin().query("SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now");
    const serverNow = Number(rows[0]?.now);
    const grant = await adapter.acquire({ key, token: newToken(), ttlMs: 30_000 });
    if (!grant.ok) throw new Error("expected a grant");
    expect(grant.expiresAt - serverNow).toBeGreaterThanOrEqual(30_000);
    // Upper bound loose enough for a loaded machine: the point is the server's time plus the TTL.
    expect(grant.expiresAt - serverNow).toBeLessThan(35_000);
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
});
