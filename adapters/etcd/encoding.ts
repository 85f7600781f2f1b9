/**
 * What the JSON gateway expects of values: byte strings as base64, int64 as
 * decimal strings, and default values (0, "", false) left out of answers.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 text as base64, as the gateway takes keys and values. */
export function base64(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Base64 from the gateway back to UTF-8 text. */
export function fromBase64(value: string): string {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return decoder.decode(bytes);
}

/**
 * An int64 from an answer (a decimal string, or absent for 0) as a safe
 * integer; anything else means the answer is not what edgelock asked for.
 */
export function int64(value: unknown, what: string): number {
  if (value === undefined) return 0;
  const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new BackendError(`etcd answered an unreadable ${what}: ${JSON.stringify(value)}`, {
      maybeApplied: true,
      retryable: false,
    });
  }
  return n;
}

/** `n` if it is positive: etcd leaves out zero values, so a missing revision or id reads as 0. */
export function positive(n: number, what: string): number {
  if (n <= 0) throw new BackendError(`etcd answered no ${what}`, { maybeApplied: true, retryable: false });
  return n;
}
