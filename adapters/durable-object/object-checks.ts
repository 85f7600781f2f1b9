/**
 * The checks `LockDurableObject` runs on a call before it touches its state.
 * Any code holding a stub may call the object, not only the adapter, so the
 * object refuses a malformed call itself, answering `invalid_argument`.
 *
 * @module
 */
import { MAX_DURATION_MS, utf8Length, validateDuration, validateOwner } from "../../src/validate.js";
import type { AcquireCall, InvalidAnswer, WriteValueCall } from "./protocol.js";
import { DURABLE_OBJECT_MAX_VALUE_BYTES } from "./protocol.js";
import { DURABLE_OBJECT_MAX_LIMIT } from "./semaphore-protocol.js";

const MAX_TOKEN_LENGTH = 128;

export function invalidAnswer(error: unknown): InvalidAnswer {
  return { ok: false, reason: "invalid_argument", message: error instanceof Error ? error.message : String(error) };
}

export function checkToken(call: unknown): InvalidAnswer | undefined {
  const token = (call as { token?: unknown } | null)?.token;
  if (typeof token === "string" && token.length > 0 && token.length <= MAX_TOKEN_LENGTH) return undefined;
  return invalidAnswer(`token must be a string of 1 to ${MAX_TOKEN_LENGTH} characters`);
}

export function checkTtl(ttlMs: unknown): InvalidAnswer | undefined {
  try {
    validateDuration("ttlMs", ttlMs, 1, MAX_DURATION_MS);
    return undefined;
  } catch (error) {
    return invalidAnswer(error);
  }
}

export function checkWrite(call: WriteValueCall): InvalidAnswer | undefined {
  const { json, writeId, expectedVersion } = call;
  if (typeof writeId !== "string" || writeId.length === 0 || writeId.length > MAX_TOKEN_LENGTH) {
    return invalidAnswer(`writeId must be a string of 1 to ${MAX_TOKEN_LENGTH} characters`);
  }
  if (json !== null && (typeof json !== "string" || utf8Length(json) > DURABLE_OBJECT_MAX_VALUE_BYTES)) {
    return invalidAnswer(`json must be null or a string of at most ${DURABLE_OBJECT_MAX_VALUE_BYTES} bytes`);
  }
  if (expectedVersion !== undefined && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0)) {
    return invalidAnswer("expectedVersion must be a non-negative safe integer");
  }
  return undefined;
}

export function checkLimit(limit: unknown): InvalidAnswer | undefined {
  if (typeof limit === "number" && Number.isSafeInteger(limit) && limit >= 1 && limit <= DURABLE_OBJECT_MAX_LIMIT) {
    return undefined;
  }
  return invalidAnswer(`limit must be an integer from 1 to ${DURABLE_OBJECT_MAX_LIMIT}`);
}

export function checkAcquire(call: AcquireCall): InvalidAnswer | undefined {
  const invalid = checkToken(call) ?? checkTtl(call.ttlMs);
  if (invalid) return invalid;
  try {
    validateDuration("waitMs", call.waitMs ?? 0, 0, MAX_DURATION_MS);
    validateOwner(call.owner);
    return undefined;
  } catch (error) {
    return invalidAnswer(error);
  }
}
