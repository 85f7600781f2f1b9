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
/** DynamoDB table of the Lambda entry and of the Node entry with `EDGELOCK_BACKEND=dynamodb`. */
export const EDGELOCK_DYNAMODB_TABLE = "EDGELOCK_DYNAMODB_TABLE";
/** DynamoDB endpoint override (DynamoDB Local); default: the region's public endpoint. */
export const EDGELOCK_DYNAMODB_ENDPOINT = "EDGELOCK_DYNAMODB_ENDPOINT";
/** Clock-skew margin of the DynamoDB adapter, ms (default: the adapter's, 1 000). */
export const EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS = "EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS";
/** Azure Storage connection string of the Azure Functions entry and of `EDGELOCK_BACKEND=azure-blob`. */
export const EDGELOCK_AZURE_CONNECTION_STRING = "EDGELOCK_AZURE_CONNECTION_STRING";
/** Azure Blob container holding the lock blobs. */
export const EDGELOCK_AZURE_CONTAINER = "EDGELOCK_AZURE_CONTAINER";
/** Upstash Redis REST URL (`EDGELOCK_BACKEND=upstash`). */
export const UPSTASH_REDIS_REST_URL = "UPSTASH_REDIS_REST_URL";
/** Upstash Redis REST token (`EDGELOCK_BACKEND=upstash`). */
export const UPSTASH_REDIS_REST_TOKEN = "UPSTASH_REDIS_REST_TOKEN";
/** TCP port of the Node entry and of `npm start`. Default 8787. */
export const PORT = "PORT";
/** Interface the Node entry listens on. Default `127.0.0.1`; set `0.0.0.0` in a container. */
export const EDGELOCK_HOST = "EDGELOCK_HOST";

/** All names, for iteration and documentation. */
export const ENV = {
  apiTokens: EDGELOCK_API_TOKENS,
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
  upstashUrl: UPSTASH_REDIS_REST_URL,
  upstashToken: UPSTASH_REDIS_REST_TOKEN,
  port: PORT,
  host: EDGELOCK_HOST,
} as const;

/** The dev token `npm start` configures when `EDGELOCK_API_TOKENS` is unset. Never use it in a deployment. */
export const DEV_TOKEN = "dev-token";
