/**
 * Where a lock key lives: container and blob names that are valid and safe
 * for any key.
 *
 * @module
 */
import { InvalidArgumentError } from "../../src/errors.js";
import { base64url } from "../../src/internal/encoding.js";

const encoder = new TextEncoder();
const MAX_BLOB_NAME = 1024;
// Azure's container rules: 3–63 lowercase letters, digits and single hyphens.
const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
// Slash-separated segments of URL-safe characters: no `.`/`..` segments, no
// trailing dots, nothing a proxy or the service would normalise away.
const PREFIX = /^([A-Za-z0-9_-]+\/)*[A-Za-z0-9_-]*$/;

export function checkContainer(container: string): string {
  if (typeof container !== "string" || !CONTAINER.test(container)) {
    throw new InvalidArgumentError(
      `container must be 3-63 lowercase letters, digits and single hyphens, got ${JSON.stringify(container)}`,
    );
  }
  return container;
}

export function checkPrefix(prefix: string): string {
  if (typeof prefix !== "string" || prefix.length > 256 || !PREFIX.test(prefix)) {
    throw new InvalidArgumentError(
      `prefix must be up to 256 characters of letters, digits, "-", "_" and "/" (no empty segments), got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}

/**
 * The blob that holds `key`: the prefix, then the key's UTF-8 bytes in
 * base64url. Two keys never share a blob, and no key can produce `.`, `..`,
 * `/` or a trailing dot, which Azure and proxies treat specially.
 */
export function blobNameFor(prefix: string, key: string): string {
  if (typeof key !== "string" || key === "") throw new InvalidArgumentError("key must be a non-empty string");
  const name = prefix + base64url(encoder.encode(key));
  if (name.length > MAX_BLOB_NAME) {
    throw new InvalidArgumentError(`key is too long for a blob name (${name.length} > ${MAX_BLOB_NAME} characters)`);
  }
  return name;
}
