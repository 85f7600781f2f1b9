import { azureBlobAdapter } from "../../adapters/azure-blob/index.js";
import type { LockAdapter } from "../../src/types.js";
import { EDGELOCK_AZURE_CONNECTION_STRING, EDGELOCK_AZURE_CONTAINER } from "../env.js";
import type { ServiceEnv } from "../options-from-env.js";
import { required } from "./backend-env.js";

/**
 * The Azure Blob adapter from `EDGELOCK_AZURE_CONNECTION_STRING` (required)
 * and `EDGELOCK_AZURE_CONTAINER` (default: the adapter's, `edgelock-locks`).
 *
 * @example
 * ```ts
 * const adapter = azureBlobFromEnv(process.env);
 * ```
 */
export function azureBlobFromEnv(env: ServiceEnv): LockAdapter {
  const container = env[EDGELOCK_AZURE_CONTAINER];
  return azureBlobAdapter({
    connectionString: required(env, EDGELOCK_AZURE_CONNECTION_STRING, "for the Azure Blob backend"),
    ...(typeof container === "string" && container !== "" ? { container } : {}),
  });
}
