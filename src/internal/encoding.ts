/**
 * Byte encodings and digests over Web APIs only (`crypto.subtle`, no
 * `node:` imports), written once for the lock client, the adapters and the
 * service.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const codes = (alphabet: string): number[] => Array.from(alphabet, (c) => c.charCodeAt(0));
const URL_SAFE = codes(`${ALPHABET}-_`);
const STANDARD = codes(`${ALPHABET}+/`);
const PAD = 61; // "="
// fromCharCode takes its codes as arguments: a bounded number at a time.
const CHUNK = 8_192;
const encoder = new TextEncoder();

// Character codes collected once and turned into one flat string: a string
// built by `+=` is a chain of pieces, slower to make and to compare (owner
// tokens are made on every acquire and compared by every backend).
function encode(bytes: Uint8Array, table: number[], pad: boolean, start: number, end: number): string {
  const out: number[] = [];
  let i = start;
  for (; i + 2 < end; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out.push(
      table[n >>> 18] as number,
      table[(n >>> 12) & 63] as number,
      table[(n >>> 6) & 63] as number,
      table[n & 63] as number,
    );
  }
  const rest = end - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out.push(table[n >>> 18] as number, table[(n >>> 12) & 63] as number);
    if (pad) out.push(PAD, PAD);
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out.push(table[n >>> 18] as number, table[(n >>> 12) & 63] as number, table[(n >>> 6) & 63] as number);
    if (pad) out.push(PAD);
  }
  if (out.length <= CHUNK) return String.fromCharCode.apply(null, out);
  let text = "";
  for (let at = 0; at < out.length; at += CHUNK) text += String.fromCharCode.apply(null, out.slice(at, at + CHUNK));
  return text;
}

/** base64url without padding (RFC 4648 §5) of `bytes[start, end)`: tokens, tags. */
export function base64url(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return encode(bytes, URL_SAFE, false, start, end);
}

/** Standard base64 with padding: signatures, keys. */
export function base64(bytes: Uint8Array): string {
  return encode(bytes, STANDARD, true, 0, bytes.length);
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
