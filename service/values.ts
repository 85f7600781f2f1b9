/**
 * The guarded value over HTTP: `GET` and `PUT /v1/locks/{key}/value`. The
 * holder check is the adapter's, in the backend's own write request; the
 * service only validates and translates.
 *
 * @module
 */
import {
  MAX_SERVICE_VALUE_BYTES,
  TOKEN_PATTERN,
  VALUE_BODY_OVERHEAD_BYTES,
  type ValueBody,
  type WrittenBody,
} from "../adapters/http/contract.js";
import { InvalidArgumentError } from "../src/errors.js";
import { serializeValue } from "../src/guarded-value.js";
import { newToken } from "../src/token.js";
import type { AdapterWriteResult, LockAdapter } from "../src/types.js";
import { RequestError } from "./requests.js";

const invalid = (message: string, cause?: unknown) => new RequestError(400, "invalid_request", message, { cause });

/** Largest value this service takes over its adapter; 0 when the adapter has no guarded value. */
export function serviceValueLimit(adapter: LockAdapter): number {
  const caps = adapter.capabilities.guardedValue;
  if (!caps || typeof adapter.readValue !== "function" || typeof adapter.writeValue !== "function") return 0;
  return Math.min(caps.maxBytes, MAX_SERVICE_VALUE_BYTES);
}

/** Largest `PUT …/value` body for a value limit. */
export function valueBodyLimit(maxValueBytes: number): number {
  return maxValueBytes + VALUE_BODY_OVERHEAD_BYTES;
}

/** Read the value; the JSON text stored is embedded as it is, never re-encoded. */
export async function readValueAnswer(
  adapter: LockAdapter,
  key: string,
  backendKey: string,
  signal: AbortSignal,
): Promise<string> {
  const stored = await (adapter.readValue as NonNullable<LockAdapter["readValue"]>).call(adapter, backendKey, {
    signal,
  });
  const head: ValueBody = { key, version: stored.version, fence: stored.fence };
  const text = JSON.stringify(head);
  // The stored text is JSON edgelock itself validated before writing it.
  return stored.json === undefined ? text : `${text.slice(0, -1)},"value":${stored.json}}`;
}

/** What a valid `PUT …/value` body asks. */
export interface ParsedWrite {
  readonly token: string;
  readonly json: string | null;
  readonly writeId: string;
  readonly expectedVersion?: number;
}

export function parseWriteValue(body: unknown, maxValueBytes: number): ParsedWrite {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalid("request body must be a JSON object");
  }
  const fields = body as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!["token", "value", "delete", "writeId", "expectedVersion"].includes(name)) {
      throw invalid(`unknown field ${JSON.stringify(name.slice(0, 64))}`);
    }
  }
  const { token, writeId, expectedVersion } = fields;
  if (typeof token !== "string" || !TOKEN_PATTERN.test(token)) {
    throw invalid("token must be 22 characters of base64url (128 bits)");
  }
  if (writeId !== undefined && (typeof writeId !== "string" || !TOKEN_PATTERN.test(writeId))) {
    throw invalid("writeId must be 22 characters of base64url");
  }
  if (
    expectedVersion !== undefined &&
    (typeof expectedVersion !== "number" || !Number.isSafeInteger(expectedVersion) || expectedVersion < 0)
  ) {
    throw invalid("expectedVersion must be a non-negative safe integer");
  }
  const deleting = fields.delete;
  if (deleting !== undefined && deleting !== true) throw invalid("delete must be true when present");
  if ((deleting === true) === "value" in fields) throw invalid("give either value or delete: true");
  let json: string | null = null;
  if (deleting !== true) {
    try {
      json = serializeValue(fields.value, maxValueBytes);
    } catch (cause) {
      if (cause instanceof InvalidArgumentError) throw invalid(cause.message, cause);
      throw cause;
    }
  }
  return {
    token,
    json,
    // Without an id from the caller, a retry cannot be recognised: each request is a new write.
    writeId: (writeId as string | undefined) ?? newToken(),
    ...(expectedVersion === undefined ? {} : { expectedVersion: expectedVersion as number }),
  };
}

/** The answer to a write: 200 with its version, or 409 `not_held` / `version_conflict`. */
export function writeAnswer(key: string, result: AdapterWriteResult): { status: 200 | 409; body: object } {
  if (result.ok) return { status: 200, body: { key, version: result.version, fence: result.fence } as WrittenBody };
  if (result.reason === "version_mismatch") {
    return { status: 409, body: { error: "version_conflict", version: result.version } };
  }
  return { status: 409, body: { error: "not_held" } };
}
