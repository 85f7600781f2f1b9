/**
 * Request validation of the v1 contract: keys, bodies and their limits,
 * refusing anything else with a 4xx {@link RequestError}. The shapes
 * themselves are the wire contract in `adapters/http/contract.ts`.
 *
 * @module
 */
import { type AcquireBody, MAX_BODY_BYTES, TOKEN_PATTERN } from "../adapters/http/contract.js";
import { MAX_DURATION_MS, MAX_KEY_BYTES, MAX_NAMESPACE_BYTES, utf8Length, validateOwner } from "../src/validate.js";

/** A request the contract refuses: becomes a 4xx JSON answer. */
export class RequestError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 405 | 413;
  readonly code: string;
  constructor(status: RequestError["status"], code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.code = code;
  }
}

const invalid = (message: string, cause?: unknown) => new RequestError(400, "invalid_request", message, { cause });

/** Longest key the contract allows by default, UTF-8 bytes. */
export const DEFAULT_MAX_KEY_BYTES = MAX_KEY_BYTES;
/**
 * Longest key a service may be configured to accept: a lock client's
 * namespace plus its longest key, since `createLocker({ namespace })` sends
 * both as one key.
 */
export const LONGEST_MAX_KEY_BYTES = MAX_KEY_BYTES + MAX_NAMESPACE_BYTES;

// As src/validate.ts: C0/C1 controls and unpaired surrogates.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Decode one percent-encoded path segment into a key of 1 to `maxBytes` UTF-8 bytes, strictly. */
export function parseKey(segment: string, maxBytes: number = DEFAULT_MAX_KEY_BYTES): string {
  let key: string;
  try {
    // Throws on malformed escapes and on escapes of invalid UTF-8 (lone surrogates included).
    key = decodeURIComponent(segment);
  } catch (cause) {
    throw invalid("key is not valid percent-encoded UTF-8", cause);
  }
  const bytes = utf8Length(key);
  if (bytes < 1 || bytes > maxBytes) throw invalid(`key must be 1 to ${maxBytes} bytes of UTF-8, got ${bytes}`);
  if (FORBIDDEN.test(key)) throw invalid("key must not contain control characters");
  return key;
}

/** Limits the service applies to bodies, from its adapter and configuration. */
export interface BodyLimits {
  readonly maxKeyBytes: number;
  readonly maxTtlMs: number;
  readonly maxWaitMs: number;
}

export function parseAcquire(body: unknown, limits: BodyLimits): AcquireBody {
  const fields = object(body, ["ttlMs", "waitMs", "owner", "token"]);
  const owner = fields.owner;
  if (owner !== undefined) {
    try {
      validateOwner(owner);
    } catch (cause) {
      throw invalid(cause instanceof Error ? cause.message : "bad owner", cause);
    }
  }
  return {
    ttlMs: integer(fields, "ttlMs", 1, limits.maxTtlMs, true) as number,
    ...optional("waitMs", integer(fields, "waitMs", 0, limits.maxWaitMs, false)),
    ...optional("owner", owner as string | undefined),
    ...optional("token", fields.token === undefined ? undefined : token(fields)),
  };
}

export function parseExtend(body: unknown, limits: BodyLimits): { token: string; ttlMs: number } {
  const fields = object(body, ["token", "ttlMs"]);
  return { token: token(fields), ttlMs: integer(fields, "ttlMs", 1, limits.maxTtlMs, true) as number };
}

export function parseRelease(body: unknown): { token: string } {
  return { token: token(object(body, ["token"])) };
}

/** Parse JSON text; anything but an object is refused by the parsers above. */
export function parseJson(text: string): unknown {
  if (text.trim() === "") throw invalid("request body must be a JSON object");
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw invalid("request body is not valid JSON", cause);
  }
}

function object(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalid("request body must be a JSON object");
  }
  // Unknown fields are refused rather than ignored: a misspelt or newer
  // field silently dropped could change what a caller believes it asked for.
  for (const name of Object.keys(body)) {
    if (!allowed.includes(name)) throw invalid(`unknown field ${JSON.stringify(name.slice(0, 64))}`);
  }
  return body as Record<string, unknown>;
}

function integer(fields: Record<string, unknown>, name: string, min: number, max: number, required: boolean) {
  const value = fields[name];
  if (value === undefined) {
    if (required) throw invalid(`${name} is required`);
    return undefined;
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw invalid(`${name} must be an integer number of milliseconds`);
  }
  if (value < min || value > Math.min(max, MAX_DURATION_MS)) {
    throw invalid(`${name} must be between ${min} and ${Math.min(max, MAX_DURATION_MS)} ms, got ${value}`);
  }
  return value;
}

function token(fields: Record<string, unknown>): string {
  const value = fields.token;
  if (value === undefined) throw invalid("token is required");
  if (typeof value !== "string" || !TOKEN_PATTERN.test(value)) {
    throw invalid("token must be 22 characters of base64url (128 bits)");
  }
  return value;
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

/** Most bytes of an oversized body read and dropped before the 413, so the connection stays usable. */
export const MAX_DISCARDED_BYTES = 1024 * 1024;
const DISCARD_MS = 2_000;

/**
 * Read and drop the rest of an oversized body, up to {@link MAX_DISCARDED_BYTES}
 * and for at most 2 s, then cancel. Cancelling at once leaves the unread part
 * of a chunked body in the connection, and a proxy in front (wrangler dev's,
 * under `npm start`) then stops answering the requests that follow on it.
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, size: number): Promise<void> {
  const deadline = Date.now() + DISCARD_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), DISCARD_MS);
  });
  try {
    let dropped = size;
    while (dropped <= MAX_DISCARDED_BYTES && Date.now() < deadline) {
      const next = await Promise.race([reader.read(), late]);
      if (next === "late" || next.done) break;
      dropped += next.value.byteLength;
    }
  } catch {
    // The peer closed the stream: nothing left to drain.
  } finally {
    clearTimeout(timer);
  }
  // The answer is 413 whatever cancelling does; a failed cancel only means
  // the peer already closed the stream.
  await reader.cancel().catch(() => undefined);
}

/**
 * Read a body of at most `limit` bytes, checking the declared length first
 * and the bytes actually received as they arrive, so a lying or absent
 * Content-Length cannot push a large body through.
 */
export async function readBody(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const tooLarge = () => new RequestError(413, "payload_too_large", `request body exceeds ${limit} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit) throw tooLarge();
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await discardRest(reader, size);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw invalid("request body is not valid UTF-8", cause);
  }
}
