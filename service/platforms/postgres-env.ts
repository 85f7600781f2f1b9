import { postgresAdapter } from "../../adapters/postgres/index.js";
import type { LockAdapter } from "../../src/types.js";
import { EDGELOCK_POSTGRES_TABLE, EDGELOCK_POSTGRES_URL } from "../env.js";
import type { ServiceEnv } from "../options-from-env.js";
import { required } from "./backend-env.js";

/**
 * The PostgreSQL adapter from `EDGELOCK_POSTGRES_URL` (required) and
 * `EDGELOCK_POSTGRES_TABLE`, over Neon's HTTP driver (`neon()`, an optional
 * peer dependency loaded only here): one HTTPS request per operation, no
 * connection to keep. Create the table once with `createLockTable`.
 *
 * @example
 * ```ts
 * const adapter = await postgresFromEnv(process.env);
 * ```
 */
export async function postgresFromEnv(env: ServiceEnv): Promise<LockAdapter> {
  const url = required(env, EDGELOCK_POSTGRES_URL, "for the postgres backend");
  const table = env[EDGELOCK_POSTGRES_TABLE];
  const { neon } = await import("@neondatabase/serverless");
  return postgresAdapter({ sql: neon(url), ...(typeof table === "string" && table !== "" ? { table } : {}) });
}
