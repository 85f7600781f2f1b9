import { InvalidArgumentError } from "../../src/errors.js";
import { validateDuration } from "../../src/validate.js";
import { postgresFailure } from "./failures.js";
import { lockTableNames } from "./names.js";
import { type DatabaseOptions, runnerFor } from "./query.js";
import { cleanupSql, schemaStatements } from "./sql.js";

/** Options of the table helpers: the database, the table, a time limit. */
export type LockTableOptions = DatabaseOptions & {
  /** Default `"edgelock_locks"`. */
  readonly table?: string;
  /** Aborts the helper. */
  readonly signal?: AbortSignal;
  /** Time limit of each statement, ms. Default 30 000. */
  readonly timeoutMs?: number;
};

/**
 * The SQL that creates the lock table and its fence sequence, one statement
 * per entry, for a migration tool. Schema 1; it is only ever created, never
 * altered by edgelock (see docs/postgres.md, "Migrations").
 *
 * @example
 * ```ts
 * console.log(lockTableStatements().join(";\n") + ";");
 * ```
 */
export function lockTableStatements(options: { table?: string } = {}): string[] {
  return schemaStatements(lockTableNames(options.table));
}

/**
 * Create the lock table and its fence sequence if they do not exist
 * (idempotent, safe to run at every start).
 *
 * @example
 * ```ts
 * await createLockTable({ sql: neon(env.DATABASE_URL) });
 * ```
 */
export async function createLockTable(options: LockTableOptions): Promise<void> {
  const { run, signal, names } = prepare(options);
  for (const statement of schemaStatements(names)) {
    try {
      await run(statement, [], signal());
    } catch (error) {
      // Two processes creating the same objects at once: the loser's
      // catalog insert hits a unique index; the object now exists.
      const code = (error as { code?: unknown } | null)?.code;
      if (code === "23505" || code === "42P07" || code === "42710") continue;
      throw postgresFailure(error, "creating the PostgreSQL lock table", []);
    }
  }
}

/**
 * Delete rows of locks that ended more than `olderThanMs` ago (default one
 * hour, at least one minute), e.g. from a scheduled job; answers how many.
 * Fences stay safe: they come from the sequence, not from the rows.
 *
 * @example
 * ```ts
 * const deleted = await cleanupLockTable({ sql: neon(env.DATABASE_URL), olderThanMs: 86_400_000 });
 * ```
 */
export async function cleanupLockTable(options: LockTableOptions & { olderThanMs?: number }): Promise<number> {
  const olderThanMs = validateDuration(
    "olderThanMs",
    options.olderThanMs ?? 3_600_000,
    60_000,
    Number.MAX_SAFE_INTEGER,
  );
  const { run, signal, names } = prepare(options);
  try {
    const rows = await run(`${cleanupSql(names)} RETURNING 1 AS deleted`, [String(olderThanMs)], signal());
    return rows.length;
  } catch (error) {
    throw postgresFailure(error, "cleaning up the PostgreSQL lock table", []);
  }
}

function prepare(options: LockTableOptions) {
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgumentError("give the database: { sql }, { pool } or { query }");
  }
  const timeoutMs = validateDuration("timeoutMs", options.timeoutMs ?? 30_000, 1, 2_147_483_647);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError("signal must be an AbortSignal");
  }
  const names = lockTableNames(options.table);
  const run = runnerFor(options);
  const signal = () => {
    const timeout = AbortSignal.timeout(timeoutMs);
    return options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  };
  return { run, signal, names };
}
