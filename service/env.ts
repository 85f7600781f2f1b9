/**
 * Names of the environment variables the lock service's entry points read.
 * Exported so deployment code (infrastructure templates, scripts) uses the
 * same spelling as the service.
 *
 * @example
 * ```ts
 * import { ENV } from "edgelock/server";
 * const environment = { [ENV.apiTokens]: "s3cret-token-1=billing" };
 * ```
 *
 * @module
 */

/**
 * Bearer tokens the service accepts, comma-separated. Each entry is
 * `token`, `token=tenant` or `token=tenant/prefix` (see `docs/http.md`).
 * Empty or unset: every lock route answers 401 (fail closed).
 */
export const EDGELOCK_API_TOKENS = "EDGELOCK_API_TOKENS";
/**
 * Bearer tokens that may break locks (`POST /v1/locks/{key}/break`), same
 * syntax as {@link EDGELOCK_API_TOKENS}; only for that route. Unset: no one
 * can break locks over HTTP.
 */
export const EDGELOCK_ADMIN_TOKENS = "EDGELOCK_ADMIN_TOKENS";
/** `json`: one JSON log line per request and per error. Default: plain error logs only. */
export const EDGELOCK_LOG_FORMAT = "EDGELOCK_LOG_FORMAT";
/** Backend of the Node entry point: `memory` | `upstash` | `dynamodb` | `azure-blob`. Default `memory`. */
export const EDGELOCK_BACKEND = "EDGELOCK_BACKEND";
/** Longest server-side wait of one acquire request, ms. Default 30 000. */
export const EDGELOCK_MAX_WAIT_MS = "EDGELOCK_MAX_WAIT_MS";
/** Time limit of each backend call the service makes, ms. Default 5 000. */
export const EDGELOCK_BACKEND_TIMEOUT_MS = "EDGELOCK_BACKEND_TIMEOUT_MS";
/** Most acquires waiting in one instance at once (429 past it). Default 1 000. */
export const EDGELOCK_MAX_WAITERS = "EDGELOCK_MAX_WAITERS";
/** Most acquires one tenant may have waiting in one instance at once (429 past it). Default 100. */
export const EDGELOCK_MAX_WAITERS_PER_TENANT = "EDGELOCK_MAX_WAITERS_PER_TENANT";
/** Longest key the service accepts, UTF-8 bytes: 256 (the v1 contract, default) up to 384 (a lock client's namespace plus key). */
export const EDGELOCK_MAX_KEY_BYTES = "EDGELOCK_MAX_KEY_BYTES";
/** Path prefix the service is mounted under (e.g. `/api` behind Azure Functions' default route prefix). */
export const EDGELOCK_BASE_PATH = "EDGELOCK_BASE_PATH";
/** Secret `npm start` shares with its front (`service/platforms/dev-front.ts`); unset anywhere else. */
export const EDGELOCK_DEV_FRONT_SECRET = "EDGELOCK_DEV_FRONT_SECRET";
/** DynamoDB table of the Lambda entry and of the Node entry with `EDGELOCK_BACKEND=dynamodb`. */
export const EDGELOCK_DYNAMODB_TABLE = "EDGELOCK_DYNAMODB_TABLE";
/** DynamoDB endpoint override (DynamoDB Local); default: the region's public endpoint. */
export const EDGELOCK_DYNAMODB_ENDPOINT = "EDGELOCK_DYNAMODB_ENDPOINT";
/** Clock-skew margin of the DynamoDB adapter, ms (default: the adapter's, 1 000). */
export const EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS = "EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS";
/** Azure Storage connection string of the Azure Functions entry and of `EDGELOCK_BACKEND=azure-blob`. */
export const EDGELOCK_AZURE_CONNECTION_STRING = "EDGELOCK_AZURE_CONNECTION_STRING";
/**
 * Blob service endpoint (`https://<account>.blob.core.windows.net`) of the
 * Azure Functions entry with a managed identity instead of a connection
 * string: the token comes from the credential passed to `createAzureHandler`,
 * else from the platform's `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
 */
export const EDGELOCK_AZURE_BLOB_URL = "EDGELOCK_AZURE_BLOB_URL";
/** Managed-identity token endpoint, set by Azure Functions / App Service. */
export const IDENTITY_ENDPOINT = "IDENTITY_ENDPOINT";
/** Secret for `IDENTITY_ENDPOINT`, set by Azure Functions / App Service. */
export const IDENTITY_HEADER = "IDENTITY_HEADER";
/** Client id of a user-assigned managed identity (optional; the system-assigned one otherwise). */
export const EDGELOCK_AZURE_CLIENT_ID = "EDGELOCK_AZURE_CLIENT_ID";
/** Azure Blob container holding the lock blobs. */
export const EDGELOCK_AZURE_CONTAINER = "EDGELOCK_AZURE_CONTAINER";
/** Upstash Redis REST URL (`EDGELOCK_BACKEND=upstash`). */
export const UPSTASH_REDIS_REST_URL = "UPSTASH_REDIS_REST_URL";
/** Upstash Redis REST token (`EDGELOCK_BACKEND=upstash`). */
export const UPSTASH_REDIS_REST_TOKEN = "UPSTASH_REDIS_REST_TOKEN";
/** PostgreSQL connection string of `EDGELOCK_BACKEND=postgres` (reached over HTTP with Neon's `neon()`). */
export const EDGELOCK_POSTGRES_URL = "EDGELOCK_POSTGRES_URL";
/** Lease table of `EDGELOCK_BACKEND=postgres`, optionally schema-qualified. Default `edgelock_locks`. */
export const EDGELOCK_POSTGRES_TABLE = "EDGELOCK_POSTGRES_TABLE";
/** etcd v3 JSON gateway of `EDGELOCK_BACKEND=etcd`, e.g. `http://127.0.0.1:2379`. */
export const EDGELOCK_ETCD_ENDPOINT = "EDGELOCK_ETCD_ENDPOINT";
/** etcd user for token auth (with `EDGELOCK_ETCD_PASSWORD`); unset: no auth. */
export const EDGELOCK_ETCD_USERNAME = "EDGELOCK_ETCD_USERNAME";
/** etcd password of `EDGELOCK_ETCD_USERNAME`. */
export const EDGELOCK_ETCD_PASSWORD = "EDGELOCK_ETCD_PASSWORD";
/** TCP port of the Node entry and of `npm start`. Default 8787. */
export const PORT = "PORT";
/** Interface the Node entry listens on. Default `127.0.0.1`; set `0.0.0.0` in a container. */
export const EDGELOCK_HOST = "EDGELOCK_HOST";

/** All names, for iteration and documentation. */
export const ENV = {
  apiTokens: EDGELOCK_API_TOKENS,
  adminTokens: EDGELOCK_ADMIN_TOKENS,
  logFormat: EDGELOCK_LOG_FORMAT,
  backend: EDGELOCK_BACKEND,
  maxWaitMs: EDGELOCK_MAX_WAIT_MS,
  maxKeyBytes: EDGELOCK_MAX_KEY_BYTES,
  backendTimeoutMs: EDGELOCK_BACKEND_TIMEOUT_MS,
  maxWaiters: EDGELOCK_MAX_WAITERS,
  maxWaitersPerTenant: EDGELOCK_MAX_WAITERS_PER_TENANT,
  basePath: EDGELOCK_BASE_PATH,
  dynamodbTable: EDGELOCK_DYNAMODB_TABLE,
  dynamodbEndpoint: EDGELOCK_DYNAMODB_ENDPOINT,
  dynamodbClockSkewMarginMs: EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS,
  azureConnectionString: EDGELOCK_AZURE_CONNECTION_STRING,
  azureContainer: EDGELOCK_AZURE_CONTAINER,
  azureBlobUrl: EDGELOCK_AZURE_BLOB_URL,
  azureClientId: EDGELOCK_AZURE_CLIENT_ID,
  identityEndpoint: IDENTITY_ENDPOINT,
  identityHeader: IDENTITY_HEADER,
  upstashUrl: UPSTASH_REDIS_REST_URL,
  upstashToken: UPSTASH_REDIS_REST_TOKEN,
  postgresUrl: EDGELOCK_POSTGRES_URL,
  postgresTable: EDGELOCK_POSTGRES_TABLE,
  etcdEndpoint: EDGELOCK_ETCD_ENDPOINT,
  etcdUsername: EDGELOCK_ETCD_USERNAME,
  etcdPassword: EDGELOCK_ETCD_PASSWORD,
  port: PORT,
  host: EDGELOCK_HOST,
} as const;

/** The dev token `npm start` configures when `EDGELOCK_API_TOKENS` is unset. Never use it in a deployment. */
export const DEV_TOKEN = "dev-token";
