import { BackendError, InvalidArgumentError } from "../../src/errors.js";
import { untilAborted } from "../../src/internal/abandon.js";

/** One result row as the adapter reads it: column name to value. */
export type Row = Readonly<Record<string, unknown>>;

/**
 * `neon()`'s HTTP query function from `@neondatabase/serverless` (or
 * anything with its `query`): each call is one HTTP request, and the
 * call's `AbortSignal` reaches `fetch` through `fetchOptions`.
 */
export interface NeonHttpQuery {
  query(
    text: string,
    params: unknown[],
    options: { arrayMode: false; fullResults: false; fetchOptions: { signal: AbortSignal } },
  ): PromiseLike<unknown>;
}

/**
 * A `Pool` or `Client` of `@neondatabase/serverless` in WebSocket mode, or
 * of `pg` (anything whose `query(text, values)` answers `{ rows }`). Such
 * drivers take no signal: an aborted call stops waiting for the answer,
 * the statement may still run (and the owner token resolves it).
 */
export interface PoolQuery {
  query(text: string, values: unknown[]): PromiseLike<unknown>;
}

/**
 * Any other driver: run one parameterised statement (`$1`, `$2`, … as in
 * PostgreSQL) and answer its rows as objects, or `{ rows }`. Honour
 * `signal` (pass it to `fetch`). Never retry: edgelock retries with the
 * owner token.
 */
export type QueryFunction = (
  text: string,
  params: readonly unknown[],
  options: { readonly signal: AbortSignal },
) => PromiseLike<unknown>;

/** The three ways to hand the adapter a database. */
export type DatabaseOptions =
  | { readonly sql: NeonHttpQuery; readonly pool?: never; readonly query?: never }
  | { readonly pool: PoolQuery; readonly sql?: never; readonly query?: never }
  | { readonly query: QueryFunction; readonly sql?: never; readonly pool?: never };

/** Runs one statement and answers its rows; the adapter's only way to the database. */
export type Runner = (text: string, params: readonly unknown[], signal: AbortSignal) => Promise<readonly Row[]>;

/** Check which database was given and wrap it as a {@link Runner}. */
export function runnerFor(options: Partial<Record<"sql" | "pool" | "query", unknown>>): Runner {
  const given = (["sql", "pool", "query"] as const).filter((name) => options[name] !== undefined);
  if (given.length !== 1) {
    throw new InvalidArgumentError(
      `give exactly one of sql (neon()), pool (a Pool or Client) or query (a function), got ${given.length === 0 ? "none" : given.join(", ")}`,
    );
  }
  const { sql, pool, query } = options;
  if (sql !== undefined) {
    if (!hasQuery(sql)) throw new InvalidArgumentError("sql must be neon()'s query function (with .query)");
    return (text, params, signal) =>
      settle(sql.query(text, [...params], { arrayMode: false, fullResults: false, fetchOptions: { signal } }), signal);
  }
  if (pool !== undefined) {
    if (!hasQuery(pool)) throw new InvalidArgumentError("pool must be a Pool or Client (with .query)");
    return (text, params, signal) => settle(pool.query(text, [...params]), signal);
  }
  if (typeof query !== "function") throw new InvalidArgumentError("query must be a function");
  return (text, params, signal) => settle((query as QueryFunction)(text, params, { signal }), signal);
}

function hasQuery(value: unknown): value is { query: (...args: unknown[]) => PromiseLike<unknown> } {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { query?: unknown }).query === "function"
  );
}

/** The rows of an answer (`rows[]` or `{ rows }`), or stop waiting when `signal` aborts. */
async function settle(answer: PromiseLike<unknown>, signal: AbortSignal): Promise<readonly Row[]> {
  const result = await untilAborted(Promise.resolve(answer), signal, abandonedQuery);
  const rows = Array.isArray(result)
    ? result
    : typeof result === "object" && result !== null && "rows" in result
      ? result.rows
      : undefined;
  if (!Array.isArray(rows) || !rows.every((row) => typeof row === "object" && row !== null && !Array.isArray(row))) {
    throw new TypeError(
      "the query answered something other than rows of objects (is the driver in array mode or full-results mode?)",
    );
  }
  return rows as Row[];
}

/**
 * What a query abandoned when its signal aborted throws: drivers without a
 * signal must not hold the caller (see `untilAborted`). The statement may
 * still run, so the abandoned call may have been applied.
 */
function abandonedQuery(reason: unknown): BackendError {
  return new BackendError("PostgreSQL request abandoned: its signal aborted (the statement may have run)", {
    cause: reason,
    maybeApplied: true,
  });
}

/** A safe integer sent as text (every column is cast to text) or as a number by a driver that parsed it. */
export function integer(value: unknown): number | undefined {
  const parsed =
    typeof value === "string" && /^-?\d{1,16}$/.test(value) ? Number(value) : typeof value === "number" ? value : NaN;
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/** The adapter's statement runner: errors become edgelock errors, scrubbed of `secrets`. */
export type Query = (
  what: string,
  text: string,
  params: readonly unknown[],
  signal: AbortSignal | undefined,
  secrets: readonly string[],
) => Promise<readonly Row[]>;
