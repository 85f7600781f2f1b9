/**
 * Text patterns the lock client, the adapters and the service share.
 *
 * @module
 */

/** An owner token as the lock client makes them: 16 random bytes, base64url, 22 characters. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * What no key, namespace or owner may contain: C0 and C1 control characters,
 * and lone surrogates (they would be encoded as U+FFFD and make two different
 * keys collide).
 */
export const FORBIDDEN_TEXT =
  /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
