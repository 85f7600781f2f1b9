import { describe, expect, test } from "vitest";
import { postgresAdapter } from "../../adapters/postgres/index.js";
import { BackendError, BackendRejectedError, newToken } from "../../src/index.js";
import { freePort } from "../support/ports.js";
import { usePostgres } from "./postgres-fixture.js";

const { pg } = usePostgres();

// How failures reach the caller: typed, honest about whether they applied, never carrying the token.
describe("postgres errors", () => {
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
      await postgresAdapter({ sql: pg().sql(), table: "no_such_table" })
        .acquire({ key: "k", token, ttlMs: 1_000 })
        .catch((e: unknown) => e),
      await postgresAdapter({ sql: pg().sql({ user: "nobody" }) })
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
    const missing = await postgresAdapter({ sql: pg().sql(), table: "no_such_table" })
      .inspect("k")
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BackendRejectedError);
    expect((missing as Error).message).toMatch(/42P01/);
    const auth = await postgresAdapter({ pool: pg().pool({ user: "nobody" }) })
      .inspect("k")
      .catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(BackendRejectedError);
    expect((auth as Error).message).toMatch(/28000/);

    const port = await freePort();
    const down = await postgresAdapter({
      sql: pg().sql({ fetch: (_input, init) => fetch(`http://127.0.0.1:${port}/sql`, init) }),
    })
      .acquire({ key: "k", token: newToken(), ttlMs: 1_000 })
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(BackendError);
    expect(down).toMatchObject({ maybeApplied: true, retryable: true });
    // The root cause, from Neon's sourceError and its cause chain.
    expect((down as Error).message).toContain("ECONNREFUSED");

    const bad = (status: number) =>
      postgresAdapter({ sql: pg().sql({ fetch: async () => new Response("upstream says no", { status }) }) })
        .release({ key: "k", token: newToken() })
        .catch((e: unknown) => e);
    expect(await bad(502)).toMatchObject({ maybeApplied: true, status: 502 });
    expect(await bad(429)).toMatchObject({ maybeApplied: false, status: 429 });
    expect(await bad(401)).toBeInstanceOf(BackendRejectedError);
    // The shared HTTP mapping (src/internal/http-failure.ts): a 408 may have been applied, a 404 was refused.
    expect(await bad(408)).toMatchObject({ maybeApplied: true, retryable: true, status: 408 });
    expect(await bad(404)).toBeInstanceOf(BackendRejectedError);
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
      sql: pg().sql({
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
});
