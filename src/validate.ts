import { InvalidArgumentError } from "./errors.js";
import { FORBIDDEN_TEXT } from "./internal/patterns.js";

/** Longest user key, in UTF-8 bytes (the HTTP contract's limit too). */
export const MAX_KEY_BYTES = 256;
/** Longest namespace (key prefix), in UTF-8 bytes. */
export const MAX_NAMESPACE_BYTES = 128;
/** Longest `owner` description, in UTF-8 bytes. */
export const MAX_OWNER_BYTES = 256;
/**
 * Longest TTL or wait any adapter accepts: the largest delay timers take
 * everywhere (2^31 − 1 ms, about 24.8 days).
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** UTF-8 length of `value`, counted without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length) {
      const low = value.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Whether `value` is printable ASCII only: one byte a character, nothing forbidden (most keys). */
function printableAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}

function checkText(what: string, value: unknown, minBytes: number, maxBytes: number): string {
  if (typeof value !== "string") throw new InvalidArgumentError(`${what} must be a string, got ${describe(value)}`);
  // The common case, without the pattern: the loop alone is several times cheaper.
  if (value.length >= minBytes && value.length <= maxBytes && printableAscii(value)) return value;
  const bytes = utf8Length(value);
  if (bytes < minBytes || bytes > maxBytes) {
    throw new InvalidArgumentError(`${what} must be ${minBytes} to ${maxBytes} bytes of UTF-8, got ${bytes}`);
  }
  if (FORBIDDEN_TEXT.test(value)) {
    throw new InvalidArgumentError(`${what} must not contain control characters or unpaired surrogates`);
  }
  return value;
}

/** A lock key: 1 to 256 bytes of UTF-8, no control characters. */
export function validateKey(key: unknown): string {
  return checkText("key", key, 1, MAX_KEY_BYTES);
}

/** A namespace: 0 to 128 bytes of UTF-8, no control characters. */
export function validateNamespace(namespace: unknown): string {
  return checkText("namespace", namespace, 0, MAX_NAMESPACE_BYTES);
}

/** An optional holder description. */
export function validateOwner(owner: unknown): string | undefined {
  if (owner === undefined) return undefined;
  return checkText("owner", owner, 1, MAX_OWNER_BYTES);
}

/** An integer number of milliseconds within `[min, max]`. */
export function validateDuration(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`${what} must be an integer number of milliseconds, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new InvalidArgumentError(`${what} must be between ${min} and ${max} ms, got ${value}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return "an array";
  return value === null ? "null" : typeof value;
}

/** An options argument: absent, or an object (not null, an array or a function). */
export function validateOptions<T extends object>(what: string, value: T | undefined): T | Record<string, never> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${what} must be an options object, got ${describe(value)}`);
  }
  return value;
}

/** An optional `AbortSignal` (anything shaped like one, so polyfills and other realms pass). */
export function validateSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  const signal = value as Partial<AbortSignal> | null;
  if (
    typeof signal !== "object" ||
    signal === null ||
    typeof signal.aborted !== "boolean" ||
    typeof signal.addEventListener !== "function" ||
    typeof signal.removeEventListener !== "function"
  ) {
    throw new InvalidArgumentError(`signal must be an AbortSignal, got ${describe(value)}`);
  }
  return value as AbortSignal;
}

/** An optional time limit of a whole operation, ms. */
export function validateTimeout(value: unknown): number | undefined {
  return value === undefined ? undefined : validateDuration("timeoutMs", value, 1, MAX_DURATION_MS);
}

/** An optional boolean. */
export function validateFlag(what: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new InvalidArgumentError(`${what} must be a boolean, got ${describe(value)}`);
}

/** A function argument. */
export function validateFunction<F>(what: string, value: F): F {
  if (typeof value !== "function") throw new InvalidArgumentError(`${what} must be a function, got ${describe(value)}`);
  return value;
}
