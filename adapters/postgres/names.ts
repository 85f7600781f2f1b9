import { InvalidArgumentError } from "../../src/errors.js";
import type { LockTableNames } from "./sql.js";

/** Default lock table; its fence sequence is `<table>_fence`. */
export const DEFAULT_TABLE = "edgelock_locks";

// Lower-case unquoted identifiers only, so the name means the same quoted or
// not (in migrations, psql, the adapter); 63 bytes is PostgreSQL's limit,
// less the sequence's "_fence" suffix.
const PART = /^[a-z_][a-z0-9_]{0,56}$/;

/**
 * Validate a table name (`name` or `schema.name`) and derive the quoted
 * names the SQL uses.
 */
export function lockTableNames(table: unknown = DEFAULT_TABLE): LockTableNames {
  if (typeof table !== "string") throw new InvalidArgumentError("table must be a string");
  const parts = table.split(".");
  if (parts.length > 2 || !parts.every((part) => PART.test(part))) {
    throw new InvalidArgumentError(
      `table must be a lower-case identifier or schema.identifier (a-z, 0-9, _; at most 57 characters each), got ${JSON.stringify(table.slice(0, 80))}`,
    );
  }
  const quote = (names: string[]) => names.map((name) => `"${name}"`).join(".");
  const sequenceParts = [...parts.slice(0, -1), `${parts.at(-1)}_fence`];
  const sequence = quote(sequenceParts);
  const semaphores = quote([...parts.slice(0, -1), `${parts.at(-1)}_sems`]);
  return { table: quote(parts), sequence, sequenceLiteral: `'${sequence}'::regclass`, semaphores };
}
