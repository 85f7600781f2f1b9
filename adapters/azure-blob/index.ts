/**
 * `edgelock/azure-blob`: locks as blob leases in an Azure Storage container,
 * over the Blob REST API and `fetch` only, so it runs on Azure Functions,
 * Node, Workers, Deno and Bun alike.
 *
 * @module
 */
import { InvalidArgumentError } from "../../src/errors.js";
import type { AdapterCapabilities, LockAdapter } from "../../src/types.js";
import { BlobLocks } from "./blob-locks.js";
import { checkContainer, checkPrefix } from "./blob-names.js";
import { AZURE_BLOB_MAX_VALUE_BYTES, BlobValues } from "./blob-values.js";
import { parseConnectionString } from "./connection-string.js";
import { MAX_LEASE_SECONDS, MIN_LEASE_SECONDS } from "./lease-seconds.js";
import { type BlobAuth, BlobRest } from "./rest.js";
import { azureBlobSemaphores } from "./semaphores.js";
import { SharedKeySigner } from "./shared-key.js";
import { cachedTokenSource, checkCredential, type TokenCredential } from "./token-credential.js";

export { AZURE_BLOB_MAX_VALUE_BYTES } from "./blob-values.js";
export { DEVELOPMENT_ACCOUNT, type ParsedConnectionString, parseConnectionString } from "./connection-string.js";
export { leaseIdFor } from "./lease-id.js";
export { type ManagedIdentityCredentialOptions, managedIdentityCredential } from "./managed-identity.js";
export { AZURE_API_VERSION } from "./rest.js";
export { AZURE_SEMAPHORE_MAX_LIMIT } from "./semaphores.js";
export { AZURE_STORAGE_SCOPE, type AzureAccessToken, type TokenCredential } from "./token-credential.js";

/** Container used when none is named. */
export const AZURE_DEFAULT_CONTAINER = "edgelock-locks";
/** Blob name prefix used when none is named. */
export const AZURE_DEFAULT_PREFIX = "locks/";

/** Options of {@link azureBlobAdapter}. Give a connection string, or an endpoint and credentials. */
export interface AzureBlobAdapterOptions {
  /**
   * A storage connection string as the portal shows it
   * (`DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…;EndpointSuffix=…`,
   * or with `BlobEndpoint` / `SharedAccessSignature`, or `UseDevelopmentStorage=true`).
   */
  readonly connectionString?: string;
  /**
   * Blob service endpoint, e.g. `https://acct.blob.core.windows.net`, or
   * path-style `http://127.0.0.1:10000/devstoreaccount1` for Azurite.
   */
  readonly endpoint?: string;
  /** Storage account name; needed with `accountKey` when it is not the endpoint's first host label. */
  readonly accountName?: string;
  /** Account key (base64), for SharedKey authorisation. */
  readonly accountKey?: string;
  /** SAS token (with or without the leading `?`); needs read, write and create permissions on the container. */
  readonly sasToken?: string;
  /**
   * Microsoft Entra ID access token for `https://storage.azure.com/`, or a
   * function returning a fresh one (called before every request; cache inside it).
   */
  readonly bearerToken?: string | (() => string | Promise<string>);
  /**
   * A `TokenCredential` (`@azure/identity`'s `DefaultAzureCredential`,
   * `ManagedIdentityCredential`, or {@link managedIdentityCredential}), asked
   * for `https://storage.azure.com/.default`. Its token is cached until five
   * minutes before expiry and concurrent requests share one refresh; a failing
   * `getToken` is a `BackendRejectedError`. Needs an `https:` endpoint and a
   * data role on the container (Storage Blob Data Contributor).
   */
  readonly credential?: TokenCredential;
  /** Container holding the lock blobs. Default {@link AZURE_DEFAULT_CONTAINER}. */
  readonly container?: string;
  /** Prefix of the lock blobs' names. Default {@link AZURE_DEFAULT_PREFIX}. */
  readonly prefix?: string;
  /**
   * Create the container on first use if it is missing. Default `false`: a
   * missing container is a deployment mistake and fails with `BackendRejectedError`.
   */
  readonly createContainer?: boolean;
  /** The `fetch` to send requests with. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
}

/**
 * Locks as Azure blob leases. One blob per key; Azure's clock expires the
 * lease (15–60 s, TTLs rounded up to whole seconds); fences are a counter in
 * the blob's metadata, bumped under the new lease. Semaphores: a permit is
 * the lease on one of the key's `limit` slot blobs (see `semaphores.ts`).
 *
 * @example
 * ```ts
 * import { createLocker } from "edgelock";
 * import { azureBlobAdapter } from "edgelock/azure-blob";
 *
 * const locker = createLocker({
 *   adapter: azureBlobAdapter({ connectionString: process.env.AZURE_STORAGE_CONNECTION_STRING }),
 * });
 * const result = await locker.withLock("nightly-report", async (lease) => runReport(lease.fence), { ttlMs: 30_000 });
 * ```
 */
export function azureBlobAdapter(options: AzureBlobAdapterOptions): LockAdapter {
  if (!options || typeof options !== "object") throw new InvalidArgumentError("azureBlobAdapter needs options");
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== "function") throw new InvalidArgumentError("no fetch available: pass options.fetch");
  const { endpoint, auth } = resolveAccess(options);
  const rest = new BlobRest(endpoint, auth, (input, init) => fetchImpl(input, init));
  const container = checkContainer(options.container ?? AZURE_DEFAULT_CONTAINER);
  const settings = {
    rest,
    container,
    prefix: checkPrefix(options.prefix ?? AZURE_DEFAULT_PREFIX),
    createContainer: options.createContainer ?? false,
  };
  const locks = new BlobLocks(settings);
  const values = new BlobValues(rest, locks, container, settings.createContainer);

  const capabilities: AdapterCapabilities = {
    name: "azure-blob",
    clock: "backend",
    clockSkewMarginMs: 0,
    ttl: { minMs: MIN_LEASE_SECONDS * 1000, maxMs: MAX_LEASE_SECONDS * 1000, granularityMs: 1000 },
    fencing: { native: false },
    pushWakeups: false,
    // acquire: lease + fence write; extend: record write + lease; release:
    // record write (the holder's name cleared) + lease. Each +1 read when
    // another instance wrote the key's record last (see docs).
    requestsPerOperation: { acquire: 2, extend: 2, release: 2, inspect: 1 },
    // Read + break, then a throwaway lease taken and released (see lease-break.ts).
    forceRelease: { requests: 4 },
    // read: Get Blob; write: Put Blob under the lease (+1 read when this
    // instance did not grant the lease, or another write changed the blob).
    guardedValue: { maxBytes: AZURE_BLOB_MAX_VALUE_BYTES, requestsPerOperation: { read: 1, write: 1 } },
  };

  return {
    capabilities,
    acquire: (request) => locks.acquire(request),
    extend: (request) => locks.extend(request),
    release: (request) => locks.release(request),
    pollWait: (request) => locks.schedule.wait(request),
    forceRelease: (request) => locks.forceRelease(request),
    inspect: (key, callOptions) => locks.inspect(key, callOptions?.signal),
    readValue: (key, callOptions) => values.read(key, callOptions?.signal),
    writeValue: (request) => values.write(request),
    semaphores: azureBlobSemaphores(settings),
  };
}

function resolveAccess(options: AzureBlobAdapterOptions): { endpoint: string; auth: BlobAuth } {
  const parsed = options.connectionString === undefined ? undefined : parseConnectionString(options.connectionString);
  const endpointText = options.endpoint ?? parsed?.blobEndpoint;
  if (!endpointText) throw new InvalidArgumentError("azureBlobAdapter needs connectionString or endpoint");
  let url: URL;
  try {
    url = new URL(endpointText);
  } catch (cause) {
    throw new InvalidArgumentError(`endpoint is not a URL: ${JSON.stringify(endpointText)}`, { cause });
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash) {
    throw new InvalidArgumentError(`endpoint must be an http(s) URL without query or fragment, got ${endpointText}`);
  }
  const endpoint = url.href.replace(/\/+$/, "");

  const bearer = options.bearerToken;
  if (options.credential !== undefined) {
    if (bearer !== undefined) throw new InvalidArgumentError("pass credential or bearerToken, not both");
    if (url.protocol !== "https:") throw new InvalidArgumentError("credential needs an https: endpoint");
    return { endpoint, auth: { kind: "bearer", token: cachedTokenSource(checkCredential(options.credential)) } };
  }
  if (bearer !== undefined) {
    if (typeof bearer === "string" && bearer !== "") return { endpoint, auth: { kind: "bearer", token: () => bearer } };
    if (typeof bearer === "function") return { endpoint, auth: { kind: "bearer", token: bearer } };
    throw new InvalidArgumentError("bearerToken must be a non-empty string or a function returning one");
  }
  const accountKey = options.accountKey ?? parsed?.accountKey;
  if (accountKey !== undefined) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(accountKey)) throw new InvalidArgumentError("accountKey must be base64");
    const accountName = options.accountName ?? parsed?.accountName ?? url.hostname.split(".")[0];
    if (!accountName || /^\d+$/.test(accountName)) {
      throw new InvalidArgumentError("accountName is needed with accountKey for this endpoint");
    }
    return { endpoint, auth: { kind: "shared-key", signer: new SharedKeySigner(accountName, accountKey) } };
  }
  const sas = options.sasToken ?? parsed?.sasToken;
  if (sas !== undefined && sas.replace(/^\?/, "") !== "") {
    return { endpoint, auth: { kind: "sas", query: new URLSearchParams(sas.replace(/^\?/, "")) } };
  }
  throw new InvalidArgumentError(
    "azureBlobAdapter needs accountKey, sasToken, bearerToken or credential (or a connection string)",
  );
}
