/**
 * The SQL of the PostgreSQL adapter: one statement per operation, each run
 * as its own transaction (autocommit), so a lost answer leaves the lock in a
 * state the owner token can resolve.
 *
 * Whose clock: every statement reads `clock_timestamp()` once (the `clock`
 * CTE) and decides expiry against that, so the database server's clock is
 * the only one that matters. Parameters are always `$1` key, `$2` token,
 * `$3` TTL in ms, `$4` owner, typed in the SQL so any driver can send them
 * as text. Every column comes back as text, so driver type parsers cannot
 * change what the adapter reads.
 *
 * Fences come from a sequence that the table does not own (see
 * `lockTableStatements`): `nextval` never goes back, not when rows are
 * deleted, not when the table is dropped and created again.
 *
 * @module
 */

/** Quoted names of the lock table and its fence sequence. */
export interface LockTableNames {
  readonly table: string;
  readonly sequence: string;
  /** The sequence as a `regclass` literal, for `nextval`. */
  readonly sequenceLiteral: string;
  /** The semaphore table, `<table>_sems`: one row per semaphore key. */
  readonly semaphores: string;
}

/** Epoch milliseconds of a `timestamptz`, as text (whole ms, rounded down). */
export const ms = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::bigint::text`;

export const CLOCK = "clock AS MATERIALIZED (SELECT clock_timestamp() AS now)";
export const NOW = "(SELECT now FROM clock)";
const EXPIRY = "clock.now + $3::bigint * interval '1 millisecond'";

/**
 * Take the key if it is free, expired or already ours, in one statement.
 *
 * The row is locked by `ON CONFLICT`, then the `WHERE` decides. A takeover
 * draws its fence with `nextval` *after* the row lock, so it is larger than
 * the fence of any grant committed before (a value drawn before the lock
 * could be smaller than one a contender committed meanwhile). The own-retry
 * case keeps its fence and refreshes the expiry. When the `WHERE` refuses,
 * the attempt returns nothing and the second branch reports the holder's
 * expiry, in the same round trip; if the holder's row is newer than this
 * statement's snapshot, no row comes back at all, which still means "held".
 */
export function acquireSql({ table, sequenceLiteral }: LockTableNames): string {
  return `WITH ${CLOCK},
attempt AS (
  INSERT INTO ${table} AS l (key, token, fence, expires_at, owner)
  SELECT $1::text, $2::text, nextval(${sequenceLiteral}), ${EXPIRY}, $4::text FROM clock
  ON CONFLICT (key) DO UPDATE SET
    fence = CASE WHEN l.token = excluded.token AND l.expires_at > ${NOW} THEN l.fence ELSE nextval(${sequenceLiteral}) END,
    token = excluded.token,
    expires_at = excluded.expires_at,
    owner = excluded.owner
  WHERE l.token IS NULL OR l.token = excluded.token OR l.expires_at <= ${NOW}
  RETURNING l.fence, l.expires_at
)
SELECT 'granted' AS outcome, a.fence::text AS fence, ${ms("a.expires_at")} AS expires_at, ${ms("clock.now")} AS now
  FROM attempt a, clock
UNION ALL
SELECT 'held', NULL, ${ms("l.expires_at")}, ${ms("clock.now")}
  FROM ${table} l, clock
  WHERE l.key = $1::text AND l.token IS NOT NULL AND NOT EXISTS (SELECT 1 FROM attempt)`;
}

/** Move the expiry of a live lock held by the token; no row when it is not held. */
export function extendSql({ table }: LockTableNames): string {
  return `WITH ${CLOCK}
UPDATE ${table} AS l SET expires_at = ${EXPIRY}
  FROM clock
  WHERE l.key = $1::text AND l.token = $2::text AND l.expires_at > clock.now
  RETURNING l.fence::text AS fence, ${ms("l.expires_at")} AS expires_at`;
}

/**
 * Free a live lock held by the token. The row stays (token cleared, expiry
 * set to now) so the next grant of the key goes through the row lock above.
 */
export function releaseSql({ table }: LockTableNames): string {
  return `WITH ${CLOCK}
UPDATE ${table} AS l SET token = NULL, owner = NULL, expires_at = clock.now
  FROM clock
  WHERE l.key = $1::text AND l.token = $2::text AND l.expires_at > clock.now
  RETURNING 'released' AS outcome`;
}

/**
 * Free a live lock held under the fence `$2`, without its token (an operator
 * breaking a dead holder's lock). As a release: the row stays with its
 * fence, so the broken token's extend and release find nothing, and the
 * next grant draws a higher fence.
 */
export function forceReleaseSql({ table }: LockTableNames): string {
  return `WITH ${CLOCK}
UPDATE ${table} AS l SET token = NULL, owner = NULL, expires_at = clock.now
  FROM clock
  WHERE l.key = $1::text AND l.fence = $2::bigint AND l.token IS NOT NULL AND l.expires_at > clock.now
  RETURNING 'released' AS outcome`;
}

/** The live holder of a key, never its token. */
export function inspectSql({ table }: LockTableNames): string {
  return `SELECT l.fence::text AS fence, ${ms("l.expires_at")} AS expires_at, l.owner
  FROM ${table} l
  WHERE l.key = $1::text AND l.token IS NOT NULL AND l.expires_at > clock_timestamp()`;
}

/**
 * The guarded value of a key: columns on its lock row. A key never locked has
 * no row and reads as version 0.
 */
export function readValueSql({ table }: LockTableNames): string {
  return `SELECT l.value_json, l.value_version::text AS version, l.value_fence::text AS fence
  FROM ${table} l WHERE l.key = $1::text`;
}

/**
 * Write (or with a NULL `$3`, delete) the guarded value if `$2` holds the key
 * live, in one UPDATE: `$4` write id, `$5` expected version or NULL. The
 * `WHERE` takes the row when the write id is the stored one (a retry: the
 * `SET` changes nothing) or the token holds it; the `CASE`s apply the write
 * only when the version matches, all decided on the row as locked (a
 * concurrent write to the row is waited for and re-checked). The answer
 * carries the stored write id: ours means applied (now or before), another
 * means a version mismatch. No row: not held. Versions count up on the row,
 * which the cleanup keeps once a value was ever written.
 */
export function writeValueSql({ table }: LockTableNames): string {
  const applies = `(l.value_write_id IS DISTINCT FROM $4::text AND ($5::bigint IS NULL OR l.value_version = $5::bigint))`;
  return `WITH ${CLOCK}
UPDATE ${table} AS l SET
    value_json = CASE WHEN ${applies} THEN $3::text ELSE l.value_json END,
    value_fence = CASE WHEN ${applies} THEN l.fence ELSE l.value_fence END,
    value_version = CASE WHEN ${applies} THEN l.value_version + 1 ELSE l.value_version END,
    value_write_id = CASE WHEN ${applies} THEN $4::text ELSE l.value_write_id END
  FROM clock
  WHERE l.key = $1::text
    AND (l.value_write_id = $4::text OR (l.token = $2::text AND l.expires_at > clock.now))
  RETURNING (l.value_write_id IS NOT DISTINCT FROM $4::text)::text AS applied, l.value_version::text AS version, l.value_fence::text AS fence`;
}

/**
 * Delete rows whose lock ended more than `$1` ms ago, and that never held a
 * guarded value (those rows carry the value's version counter). Safe for fences: a
 * deleted key's next grant draws a new sequence value, larger than every
 * fence drawn before this statement, unless an acquire drew its value
 * before the deleted row's grant and is still running — `$1` (at least a
 * minute) bounds that far beyond any statement of the adapter.
 */
export function cleanupSql({ table }: LockTableNames): string {
  return `DELETE FROM ${table} WHERE expires_at < clock_timestamp() - $1::bigint * interval '1 millisecond' AND value_version = 0`;
}

/**
 * The schema, one statement per entry (HTTP drivers run one statement per
 * request). Idempotent. The sequence is not `OWNED BY` the table on purpose:
 * dropping the table must not reset fences.
 */
export function schemaStatements({ table, sequence, semaphores }: LockTableNames): string[] {
  return [
    `CREATE SEQUENCE IF NOT EXISTS ${sequence} AS bigint MINVALUE 1 NO CYCLE`,
    `CREATE TABLE IF NOT EXISTS ${table} (
  key text PRIMARY KEY,
  token text,
  fence bigint NOT NULL,
  expires_at timestamptz NOT NULL,
  owner text
)`,
    // Schema 2, additive: the guarded value. Also the migration of a schema 1 table.
    `ALTER TABLE ${table}
  ADD COLUMN IF NOT EXISTS value_json text,
  ADD COLUMN IF NOT EXISTS value_version bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS value_fence bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS value_write_id text`,
    // Semaphores: one row per key, its limit and its permits (token → fence, expiry, owner).
    `CREATE TABLE IF NOT EXISTS ${semaphores} (
  key text PRIMARY KEY,
  lim integer NOT NULL,
  permits jsonb NOT NULL
)`,
    `COMMENT ON TABLE ${table} IS 'edgelock locks, schema 2: one row per key with its guarded value; fences from ${sequence.replaceAll("'", "''")}'`,
  ];
}

/** Transaction-scoped advisory lock on a key, without waiting: `true` when taken. */
export const TRY_ADVISORY_XACT_LOCK_SQL =
  "SELECT pg_try_advisory_xact_lock(hashtextextended('edgelock:' || $1::text, 0))::text AS locked";

/** Transaction-scoped advisory lock on a key, waiting for it (for batched transactions over HTTP). */
export const ADVISORY_XACT_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('edgelock:' || $1::text, 0))";
