import { InvalidArgumentError } from "../../src/errors.js";
import { validateDuration, validateKey } from "../../src/validate.js";
import { postgresFailure, unreadable } from "./failures.js";
import { type PoolQuery, runnerFor } from "./query.js";
import { TRY_ADVISORY_XACT_LOCK_SQL } from "./sql.js";

/**
 * Inside an open transaction, try to take PostgreSQL's transaction-scoped
 * advisory lock for `key`: `true` when taken (held until that transaction
 * commits or rolls back — there is no release), `false` when another
 * transaction holds it. Never waits.
 *
 * `transaction` must be the connection the transaction runs on (a `Client`
 * or a `PoolClient` after `BEGIN`, WebSocket or TCP); a `Pool` would run
 * the query on any connection, outside the transaction. Over HTTP
 * (`neon()`), put {@link ADVISORY_XACT_LOCK_SQL} first in a
 * `sql.transaction([...])` batch instead: it waits for the lock.
 *
 * Keys are hashed to 64 bits (`hashtextextended`) after an `edgelock:`
 * prefix; two keys sharing a hash share a lock (more exclusion, never less).
 *
 * @example
 * ```ts
 * const client = await pool.connect();
 * try {
 *   await client.query("BEGIN");
 *   if (await tryAdvisoryXactLock(client, `invoice:${id}`)) await issueInvoice(client, id);
 *   await client.query("COMMIT");
 * } finally {
 *   client.release();
 * }
 * ```
 */
export async function tryAdvisoryXactLock(
  transaction: PoolQuery,
  key: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<boolean> {
  validateKey(key);
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("options must be an object");
  const timeoutMs = validateDuration("timeoutMs", options.timeoutMs ?? 10_000, 1, 2_147_483_647);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError("signal must be an AbortSignal");
  }
  const run = runnerFor({ pool: transaction });
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let rows: Awaited<ReturnType<typeof run>>;
  try {
    rows = await run(TRY_ADVISORY_XACT_LOCK_SQL, [key], signal);
  } catch (error) {
    throw postgresFailure(error, "PostgreSQL advisory lock", []);
  }
  const locked = rows[0]?.locked;
  if (rows.length !== 1 || (locked !== "true" && locked !== "false")) throw unreadable("advisory lock", rows, true);
  return locked === "true";
}
