/**
 * The SQL of the PostgreSQL semaphores: one row per key in `<table>_sems`
 * holding the limit and the permits as one `jsonb` object (token → `f`
 * fence, `e` expiry in epoch ms, `o` owner), so that every operation is one
 * statement on one row. Why not a row per permit: a statement's snapshot is
 * taken before it waits for the key's row lock, so counting permit rows in
 * the same statement could miss a grant committed during the wait; the
 * `ON CONFLICT DO UPDATE` and `UPDATE` expressions instead read the row as
 * locked, its latest committed version.
 *
 * Parameters: `$1` key, `$2` token, `$3` TTL ms, `$4` owner, `$5` limit.
 * Fences come from the lock table's sequence, drawn after the row lock.
 *
 * @module
 */
import { CLOCK, type LockTableNames, ms } from "./sql.js";

const NOW_MS = "(SELECT floor(extract(epoch FROM now) * 1000)::bigint FROM clock)";
const LIVE = `(SELECT coalesce(jsonb_object_agg(p.key, p.value), '{}'::jsonb) FROM jsonb_each(s.permits) p WHERE (p.value->>'e')::bigint > ${NOW_MS})`;
const permit = (fence: string) =>
  `jsonb_build_object($2::text, jsonb_build_object('f', ${fence}, 'e', ${NOW_MS} + $3::bigint, 'o', $4::text))`;

/**
 * Take a permit in one statement: drop the expired ones, then a retry of our
 * own permit refreshes it (same fence), an empty key takes our limit, a
 * different limit or a full key changes nothing. The answer is read from
 * the row written: our token in it means granted.
 */
export function semaphoreAcquireSql({ semaphores, sequenceLiteral }: LockTableNames): string {
  const own = `(${LIVE} -> $2::text)`;
  const count = `(SELECT count(*) FROM jsonb_object_keys(${LIVE}))`;
  return `WITH ${CLOCK}
INSERT INTO ${semaphores} AS s (key, lim, permits)
  SELECT $1::text, $5::integer, ${permit(`nextval(${sequenceLiteral})`)} FROM clock
  ON CONFLICT (key) DO UPDATE SET
    permits = CASE
      WHEN ${own} IS NOT NULL THEN ${LIVE} || jsonb_build_object($2::text, jsonb_set(${own}, '{e}', to_jsonb(${NOW_MS} + $3::bigint)))
      WHEN ${count} = 0 OR (s.lim = $5::integer AND ${count} < $5::integer)
        THEN ${LIVE} || ${permit(`nextval(${sequenceLiteral})`)}
      ELSE ${LIVE}
    END,
    lim = CASE WHEN ${count} = 0 THEN $5::integer ELSE s.lim END
  RETURNING s.lim::text AS lim, (s.permits -> $2::text ->> 'f') AS fence, (s.permits -> $2::text ->> 'e') AS expires_at,
    (SELECT min((p.value->>'e')::bigint)::text FROM jsonb_each(s.permits) p) AS earliest, ${ms("(SELECT now FROM clock)")} AS now`;
}

/** Move the expiry of the token's live permit; no row when it has none. */
export function semaphoreExtendSql({ semaphores }: LockTableNames): string {
  return `WITH ${CLOCK}
UPDATE ${semaphores} AS s SET permits = jsonb_set(s.permits, ARRAY[$2::text, 'e'], to_jsonb(${NOW_MS} + $3::bigint))
  WHERE s.key = $1::text AND (s.permits -> $2::text ->> 'e')::bigint > ${NOW_MS}
  RETURNING (s.permits -> $2::text ->> 'f') AS fence, (s.permits -> $2::text ->> 'e') AS expires_at`;
}

/** Free the token's live permit (and drop expired ones); no row when it has none. */
export function semaphoreReleaseSql({ semaphores }: LockTableNames): string {
  return `WITH ${CLOCK}
UPDATE ${semaphores} AS s SET permits = ${LIVE} - $2::text
  WHERE s.key = $1::text AND (s.permits -> $2::text ->> 'e')::bigint > ${NOW_MS}
  RETURNING 'released' AS outcome`;
}

/** The key's permits and the server's time, without tokens; the caller keeps the live ones. */
export function semaphoreInspectSql({ semaphores }: LockTableNames): string {
  return `WITH ${CLOCK}
SELECT s.lim::text AS lim, (p.value->>'f') AS fence, (p.value->>'e') AS expires_at, (p.value->>'o') AS owner
  FROM ${semaphores} s, jsonb_each(s.permits) p
  WHERE s.key = $1::text AND (p.value->>'e')::bigint > ${NOW_MS}
  ORDER BY (p.value->>'f')::bigint`;
}
