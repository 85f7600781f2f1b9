import { azureBlobAdapter, managedIdentityCredential, type TokenCredential } from "../../adapters/azure-blob/index.js";
import { InvalidArgumentError } from "../../src/errors.js";
import type { LockAdapter } from "../../src/types.js";
import {
  EDGELOCK_AZURE_BLOB_URL,
  EDGELOCK_AZURE_CLIENT_ID,
  EDGELOCK_AZURE_CONNECTION_STRING,
  EDGELOCK_AZURE_CONTAINER,
  IDENTITY_ENDPOINT,
  IDENTITY_HEADER,
} from "../env.js";
import type { ServiceEnv } from "../options-from-env.js";
import { required } from "./backend-env.js";

/** What the environment cannot carry: a credential object, a `fetch`. */
export interface AzureBlobEnvOptions {
  /** Used with `EDGELOCK_AZURE_BLOB_URL` instead of the platform's managed-identity endpoint. */
  readonly credential?: TokenCredential;
  /** The `fetch` for storage and identity requests. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * The Azure Blob adapter from the environment: `EDGELOCK_AZURE_CONNECTION_STRING`,
 * or `EDGELOCK_AZURE_BLOB_URL` with `options.credential` or else the managed
 * identity (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`, optional
 * `EDGELOCK_AZURE_CLIENT_ID`); `EDGELOCK_AZURE_CONTAINER` (default: the
 * adapter's, `edgelock-locks`).
 *
 * @example
 * ```ts
 * const adapter = azureBlobFromEnv(process.env);
 * ```
 */
export function azureBlobFromEnv(env: ServiceEnv, options: AzureBlobEnvOptions = {}): LockAdapter {
  const container = env[EDGELOCK_AZURE_CONTAINER];
  const connectionString = env[EDGELOCK_AZURE_CONNECTION_STRING];
  const blobUrl = env[EDGELOCK_AZURE_BLOB_URL];
  const common = {
    ...(typeof container === "string" && container !== "" ? { container } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  const hasUrl = typeof blobUrl === "string" && blobUrl !== "";
  if (typeof connectionString === "string" && connectionString !== "") {
    if (hasUrl) {
      throw new InvalidArgumentError(
        `set ${EDGELOCK_AZURE_CONNECTION_STRING} or ${EDGELOCK_AZURE_BLOB_URL} (managed identity), not both`,
      );
    }
    return azureBlobAdapter({ connectionString, ...common });
  }
  if (!hasUrl) {
    throw new InvalidArgumentError(
      `${EDGELOCK_AZURE_CONNECTION_STRING} or ${EDGELOCK_AZURE_BLOB_URL} is required for the Azure Blob backend`,
    );
  }
  const clientId = env[EDGELOCK_AZURE_CLIENT_ID];
  const credential =
    options.credential ??
    managedIdentityCredential({
      endpoint: required(env, IDENTITY_ENDPOINT, `with ${EDGELOCK_AZURE_BLOB_URL} (no managed identity is enabled)`),
      header: required(env, IDENTITY_HEADER, `with ${EDGELOCK_AZURE_BLOB_URL} (no managed identity is enabled)`),
      ...(typeof clientId === "string" && clientId !== "" ? { clientId } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  return azureBlobAdapter({ endpoint: blobUrl, credential, ...common });
}
