/**
 * The App Service / Azure Functions managed-identity endpoint as a small
 * {@link TokenCredential}, over `fetch`, for apps that do not want
 * `@azure/identity`.
 *
 * @module
 */
import { BackendRejectedError, InvalidArgumentError } from "../../src/errors.js";
import type { AzureAccessToken, TokenCredential } from "./token-credential.js";

/** Options of {@link managedIdentityCredential}: what the platform sets in `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`. */
export interface ManagedIdentityCredentialOptions {
  /** The token endpoint, `process.env.IDENTITY_ENDPOINT` on Functions and App Service. */
  readonly endpoint: string;
  /** The secret sent as `X-IDENTITY-HEADER`, `process.env.IDENTITY_HEADER`. */
  readonly header: string;
  /** Client id of a user-assigned identity; the system-assigned one when absent. */
  readonly clientId?: string;
  /** The `fetch` to send requests with. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
}

const API_VERSION = "2019-08-01";

/**
 * A `TokenCredential` for the Functions / App Service managed identity
 * (GET `IDENTITY_ENDPOINT?resource=…&api-version=2019-08-01` with
 * `X-IDENTITY-HEADER`). Pass it as the adapter's `credential`.
 *
 * @example
 * ```ts
 * import { azureBlobAdapter, managedIdentityCredential } from "edgelock/azure-blob";
 *
 * const adapter = azureBlobAdapter({
 *   endpoint: "https://acct.blob.core.windows.net",
 *   container: "edgelock-locks",
 *   credential: managedIdentityCredential({
 *     endpoint: process.env.IDENTITY_ENDPOINT ?? "",
 *     header: process.env.IDENTITY_HEADER ?? "",
 *   }),
 * });
 * ```
 */
export function managedIdentityCredential(options: ManagedIdentityCredentialOptions): TokenCredential {
  if (!options || typeof options !== "object")
    throw new InvalidArgumentError("managedIdentityCredential needs options");
  const endpointText = options.endpoint;
  const header = options.header;
  if (!endpointText || typeof endpointText !== "string") {
    throw new InvalidArgumentError("managedIdentityCredential needs endpoint (IDENTITY_ENDPOINT)");
  }
  let endpoint: URL;
  try {
    endpoint = new URL(endpointText);
  } catch (cause) {
    throw new InvalidArgumentError("managed identity endpoint is not a URL", { cause });
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw new InvalidArgumentError("managed identity endpoint must be an http(s) URL");
  }
  if (!header || typeof header !== "string") {
    throw new InvalidArgumentError("managedIdentityCredential needs header (IDENTITY_HEADER)");
  }
  if (options.clientId !== undefined && (typeof options.clientId !== "string" || options.clientId === "")) {
    throw new InvalidArgumentError("clientId must be a non-empty string");
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== "function") throw new InvalidArgumentError("no fetch available: pass options.fetch");

  return {
    async getToken(scopes, getOptions) {
      const scope = Array.isArray(scopes) ? scopes[0] : scopes;
      if (typeof scope !== "string" || scope === "") throw new InvalidArgumentError("getToken needs a scope");
      const url = new URL(endpoint);
      url.searchParams.set("resource", scope.replace(/\.default$/, ""));
      url.searchParams.set("api-version", API_VERSION);
      if (options.clientId !== undefined) url.searchParams.set("client_id", options.clientId);
      const response = await fetchImpl(url, {
        headers: { "X-IDENTITY-HEADER": header, accept: "application/json" },
        signal: getOptions?.abortSignal,
      });
      const text = await response.text();
      if (!response.ok) {
        // The body names the problem (no identity, wrong resource); it holds no token.
        throw new BackendRejectedError(
          `the managed identity endpoint answered ${response.status}: ${text.slice(0, 200)}`,
          { status: response.status },
        );
      }
      return parseAnswer(text);
    },
  };
}

function parseAnswer(text: string): AzureAccessToken {
  let body: { access_token?: unknown; expires_on?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new BackendRejectedError("the managed identity endpoint answered something other than JSON");
  }
  const expiresOn = Number(body.expires_on);
  if (typeof body.access_token !== "string" || body.access_token === "" || !Number.isFinite(expiresOn)) {
    throw new BackendRejectedError("the managed identity endpoint's answer has no access_token and expires_on");
  }
  // expires_on is in seconds since the epoch.
  return { token: body.access_token, expiresOnTimestamp: expiresOn * 1000 };
}
