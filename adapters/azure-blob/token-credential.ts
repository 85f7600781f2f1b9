/**
 * Microsoft Entra ID tokens for the Blob service from a `TokenCredential`
 * (the shape `@azure/identity`'s credentials have, typed structurally so
 * edgelock does not depend on it): one cached token per adapter, refreshed a
 * few minutes before it expires, one refresh shared by concurrent requests.
 *
 * @module
 */
import { BackendRejectedError, EdgelockError, InvalidArgumentError } from "../../src/errors.js";
import { untilAborted } from "../../src/internal/abandon.js";

/** The scope storage tokens are requested for. */
export const AZURE_STORAGE_SCOPE = "https://storage.azure.com/.default";

/** An access token as a `TokenCredential` returns it. */
export interface AzureAccessToken {
  readonly token: string;
  /** Expiry, in milliseconds since the epoch. */
  readonly expiresOnTimestamp: number;
}

/**
 * Anything with `@azure/identity`'s `getToken`: `DefaultAzureCredential`,
 * `ManagedIdentityCredential`, or edgelock's {@link managedIdentityCredential}.
 */
export interface TokenCredential {
  getToken(scopes: string | string[], options?: { abortSignal?: AbortSignal }): Promise<AzureAccessToken | null>;
}

/** Refresh this long before expiry, so no request goes out with a token about to lapse. */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** Time limit of one `getToken` call. */
export const TOKEN_TIMEOUT_MS = 30_000;

/** Throws InvalidArgumentError unless `value` has a `getToken` method. */
export function checkCredential(value: unknown): TokenCredential {
  if (!value || typeof value !== "object" || typeof (value as TokenCredential).getToken !== "function") {
    throw new InvalidArgumentError("credential must be a TokenCredential (an object with a getToken method)");
  }
  return value as TokenCredential;
}

/** A function handing out a valid bearer token, cached and shared. */
export function cachedTokenSource(credential: TokenCredential): (signal?: AbortSignal) => Promise<string> {
  let cached: AzureAccessToken | undefined;
  let pending: Promise<AzureAccessToken> | undefined;

  const refresh = async (): Promise<AzureAccessToken> => {
    // Not the caller's signal: the refresh is shared, and one caller giving up
    // must not fail the others. It has its own time limit instead.
    const abortSignal = AbortSignal.timeout(TOKEN_TIMEOUT_MS);
    let result: AzureAccessToken | null;
    try {
      result = await credential.getToken(AZURE_STORAGE_SCOPE, { abortSignal });
    } catch (cause) {
      if (cause instanceof EdgelockError) throw cause;
      throw new BackendRejectedError(
        `the Azure credential could not get a token for ${AZURE_STORAGE_SCOPE} (${describe(cause)}); check the identity and its configuration`,
        { cause: { name: errorName(cause), message: describe(cause) } },
      );
    }
    if (
      !result ||
      typeof result.token !== "string" ||
      result.token === "" ||
      !Number.isFinite(result.expiresOnTimestamp)
    ) {
      throw new BackendRejectedError(
        `the Azure credential returned no usable token for ${AZURE_STORAGE_SCOPE}; check the identity and its configuration`,
      );
    }
    return result;
  };

  return async (signal) => {
    if (cached && Date.now() < cached.expiresOnTimestamp - TOKEN_REFRESH_MARGIN_MS) return cached.token;
    if (!pending) {
      pending = refresh().then(
        (token) => {
          cached = token;
          pending = undefined;
          return token;
        },
        (error: unknown) => {
          pending = undefined;
          throw error;
        },
      );
    }
    const token = await untilAborted(pending, signal, (reason) => reason);
    // A token already inside the margin (short-lived ones) is still used for
    // this request as long as it has not expired; the next request refreshes.
    return token.token;
  };
}

function errorName(cause: unknown): string {
  return cause instanceof Error ? cause.name : typeof cause;
}

// The credential's message, with anything that looks like a token or secret
// (JWTs, long base64 or hex runs) masked: it ends up in logs.
function describe(cause: unknown): string {
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return text
    .replace(/eyJ[\w-]*\.[\w-]*\.?[\w-]*/g, "[redacted]")
    .replace(/[A-Za-z0-9+/_=-]{32,}/g, "[redacted]")
    .slice(0, 300);
}
