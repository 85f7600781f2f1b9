/**
 * Owner token → Azure lease id. Azure wants lease ids in GUID format; the
 * mapping is deterministic so that a retried acquire proposes the same lease
 * id and Azure recognises the holder (acquire by the active lease id → 200).
 *
 * @module
 */
import { base64url, fromBase64, sha256, hex as toHex } from "../../src/internal/encoding.js";
import { TOKEN_PATTERN } from "../../src/internal/patterns.js";

/**
 * The lease id for an owner token. A lock-client token (22 base64url chars,
 * 16 random bytes) maps its bytes one-to-one onto the GUID, so no entropy is
 * lost; any other string is hashed (SHA-256, first 16 bytes).
 *
 * @example
 * ```ts
 * await leaseIdFor("AAAAAAAAAAAAAAAAAAAAAA"); // "00000000-0000-0000-0000-000000000000"
 * ```
 */
export async function leaseIdFor(token: string): Promise<string> {
  const bytes = canonicalTokenBytes(token) ?? (await sha256(token)).subarray(0, 16);
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * What the blob's metadata records about its holder: a hash of the lease id,
 * so that anyone who can read the blob learns nothing that lets them renew
 * or release the lease.
 */
export async function holderTag(leaseId: string): Promise<string> {
  const digest = await sha256(`edgelock-holder:${leaseId}`);
  return base64url(digest.subarray(0, 16));
}

/** The 16 bytes of a canonical base64url token; `undefined` for anything else. */
function canonicalTokenBytes(token: string): Uint8Array | undefined {
  if (!TOKEN_PATTERN.test(token)) return undefined;
  const bytes = fromBase64(token);
  // Two tokens that differ only in the unused low bits of the last character
  // would decode alike: only the canonical spelling maps directly.
  return base64url(bytes) === token ? bytes : undefined;
}
