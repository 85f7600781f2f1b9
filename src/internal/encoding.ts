/**
 * Byte encodings and digests over Web APIs only (`crypto.subtle`, no
 * `node:` imports), written once for the lock client, the adapters and the
 * service.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URL_SAFE = `${ALPHABET}-_`;
const STANDARD = `${ALPHABET}+/`;
const encoder = new TextEncoder();

function encode(bytes: Uint8Array, table: string, pad: boolean): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += table[n >>> 18] + (table[(n >>> 12) & 63] as string) + table[(n >>> 6) & 63] + table[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += table[n >>> 18] + (table[(n >>> 12) & 63] as string) + (pad ? "==" : "");
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += table[n >>> 18] + (table[(n >>> 12) & 63] as string) + table[(n >>> 6) & 63] + (pad ? "=" : "");
  }
  return out;
}

/** base64url without padding (RFC 4648 §5): tokens, tags. */
export function base64url(bytes: Uint8Array): string {
  return encode(bytes, URL_SAFE, false);
}

/** Standard base64 with padding: signatures, keys. */
export function base64(bytes: Uint8Array): string {
  return encode(bytes, STANDARD, true);
}

/** Bytes of standard base64 or base64url text; throws on anything else (as `atob` does). */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
}

/** Lowercase hex. */
export function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += (byte < 16 ? "0" : "") + byte.toString(16);
  return out;
}

/** SHA-256 of UTF-8 text. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** SHA-1 of UTF-8 text, hex (Redis names cached scripts so; not for security). */
export async function sha1Hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-1", encoder.encode(text))));
}
