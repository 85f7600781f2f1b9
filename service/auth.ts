import { InvalidArgumentError } from "../src/errors.js";
import { validateNamespace } from "../src/validate.js";

/** One configured API token and what it may touch. */
export interface TokenGrant {
  /** The bearer token. */
  readonly token: string;
  /**
   * Tenant: the namespace its keys live in. Tokens naming the same tenant
   * share locks. Unset: a tenant of its own, derived from the token.
   */
  readonly tenant?: string | undefined;
  /** When set, the token may only use keys starting with this prefix. */
  readonly prefix?: string | undefined;
}

/** Who a request speaks for, once authenticated. */
export interface Principal {
  /** Prepended to every key before it reaches the adapter. */
  readonly namespace: string;
  /** Keys this principal may use start with this ("" for all). */
  readonly prefix: string;
}

/** Checks `Authorization` headers; `null` for a missing or unknown token. */
export type Authenticator = (authorization: string | undefined) => Promise<Principal | null>;

// RFC 6750 b64token: "=" can only end a token, so the first "=" followed by
// anything else starts the tenant, and base64 padding survives.
const ENTRY = /^([A-Za-z0-9._~+/-]+=*)(?:=([^/]*)(?:\/(.*))?)?$/;
const TENANT = /^[A-Za-z0-9_.-]{1,64}$/;
const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const MIN_TOKEN_LENGTH = 8;

/**
 * Parse `EDGELOCK_API_TOKENS`: comma-separated `token`, `token=tenant` or
 * `token=tenant/prefix`. Blank entries are ignored; anything malformed
 * throws, so a typo never silently opens or closes access.
 *
 * @example
 * ```ts
 * parseTokens("k3y-for-billing-0001=billing, k3y-for-reports-001=billing/reports:");
 * ```
 */
export function parseTokens(config: string | undefined): TokenGrant[] {
  const grants: TokenGrant[] = [];
  for (const raw of (config ?? "").split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const match = ENTRY.exec(entry);
    if (!match?.[1]) throw new InvalidArgumentError(`API token entry #${grants.length + 1} is malformed`);
    grants.push({ token: match[1], tenant: match[2], prefix: match[3] });
  }
  return grants;
}

/** Validate grants and build a constant-time {@link Authenticator} over them. */
export function createAuthenticator(grants: readonly TokenGrant[]): Authenticator {
  const seen = new Set<string>();
  grants.forEach((grant, index) => {
    // The message names the entry by position: a token must never reach logs.
    const where = `API token #${index + 1}`;
    if (typeof grant.token !== "string" || !TOKEN.test(grant.token) || grant.token.length < MIN_TOKEN_LENGTH) {
      throw new InvalidArgumentError(`${where} must be at least ${MIN_TOKEN_LENGTH} characters of RFC 6750 token68`);
    }
    if (seen.has(grant.token)) throw new InvalidArgumentError(`${where} is configured twice`);
    seen.add(grant.token);
    if (grant.tenant !== undefined && !TENANT.test(grant.tenant)) {
      throw new InvalidArgumentError(`${where}: tenant must be 1 to 64 of A-Z a-z 0-9 _ . -`);
    }
    if (grant.prefix !== undefined) {
      if (grant.prefix === "") throw new InvalidArgumentError(`${where}: key prefix after "/" is empty`);
      validateNamespace(grant.prefix);
    }
  });
  const table = (async () =>
    Promise.all(
      grants.map(async (grant) => ({
        digest: await sha256(grant.token),
        // Derived tenants start with "~", which named tenants cannot, and are
        // a separate hash so the token cannot be read back from stored keys.
        namespace: `${grant.tenant ?? `~${hex(await sha256(`edgelock-tenant:${grant.token}`)).slice(0, 32)}`}:`,
        prefix: grant.prefix ?? "",
      })),
    ))();

  return async (authorization) => {
    const entries = await table;
    const presented = bearer(authorization);
    if (presented === undefined || entries.length === 0) return null;
    const digest = await sha256(presented);
    // Compare fixed-length digests against every entry without early exit,
    // so timing reveals neither which token nor how much of it matched.
    let found = -1;
    entries.forEach((entry, index) => {
      let diff = 0;
      for (let i = 0; i < digest.length; i++) diff |= (digest[i] ?? 0) ^ (entry.digest[i] ?? 0);
      found = diff === 0 ? index : found;
    });
    const entry = entries[found];
    return entry ? { namespace: entry.namespace, prefix: entry.prefix } : null;
  };
}

function bearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
