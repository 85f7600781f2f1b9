/**
 * Azure Functions entry point (v4 programming model): the lock service over
 * Azure Blob leases, as one HTTP-triggered function catching every route.
 * Configured from app settings (`EDGELOCK_API_TOKENS`,
 * `EDGELOCK_AZURE_CONNECTION_STRING`, or `EDGELOCK_AZURE_BLOB_URL` with the
 * app's managed identity, `EDGELOCK_AZURE_CONTAINER`, see `docs/http.md`). Routes live under Functions' route prefix, `/api` by
 * default (`EDGELOCK_BASE_PATH` follows it; set both to "" to serve at the root).
 *
 * @module
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import type { Hono } from "hono";
import { createLockService } from "../app.js";
import { EDGELOCK_BASE_PATH } from "../env.js";
import { type ServiceEnv, serviceOptionsFromEnv } from "../options-from-env.js";
import { type AzureBlobEnvOptions, azureBlobFromEnv } from "./azure-blob-env.js";

export type { AzureBlobEnvOptions } from "./azure-blob-env.js";

/** An Azure Functions HTTP handler. */
export type AzureLockHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * Build the handler for `env`: the service is made on the first invocation
 * and reused by the worker process. `options.credential` (e.g.
 * `@azure/identity`'s `DefaultAzureCredential`) authorises storage with
 * `EDGELOCK_AZURE_BLOB_URL` instead of the platform's managed-identity endpoint.
 *
 * @example
 * ```ts
 * app.http("edgelock", { route: "{*path}", authLevel: "anonymous", handler: createAzureHandler(process.env) });
 * // or: createAzureHandler(process.env, { credential: new DefaultAzureCredential() })
 * ```
 */
export function createAzureHandler(env: ServiceEnv, options: AzureBlobEnvOptions = {}): AzureLockHandler {
  let service: Hono | undefined;
  return async (request) => {
    service ??= createLockService(
      serviceOptionsFromEnv({ [EDGELOCK_BASE_PATH]: "/api", ...env }, azureBlobFromEnv(env, options)),
    );
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const response = await service.fetch(
      new Request(request.url, {
        method: request.method,
        headers: request.headers,
        // Streamed, so the service's 16 KiB limit applies to bytes as they arrive.
        ...(hasBody && request.body ? { body: request.body, duplex: "half" } : {}),
      } as RequestInit),
    );
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: new Uint8Array(await response.arrayBuffer()),
    };
  };
}

/** The registered function's handler. */
export const handler: AzureLockHandler = createAzureHandler(process.env);

app.http("edgelock", {
  route: "{*path}",
  methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
  authLevel: "anonymous",
  handler,
});
