import type {
  AdapterAcquireResult,
  AdapterExtendResult,
  AdapterGrant,
  AdapterReleaseResult,
  AdapterWriteResult,
  LockState,
  StoredValue,
} from "../../src/types.js";
import { unreadable } from "./failures.js";

/**
 * Readers of the scripts' replies (see `scripts.ts`). Anything else than the
 * expected shape throws: a reply that cannot be read is never taken for a
 * refusal or a grant.
 */

const isInteger = (value: unknown): value is number => Number.isSafeInteger(value);

function grant(reply: unknown[], ttlMs: number, what: string): AdapterGrant {
  const [, fence, expiresAt] = reply;
  if (!isInteger(fence) || fence < 1 || !isInteger(expiresAt)) throw unreadable(what, reply, true);
  return { ok: true, fence, ttlMs, expiresAt };
}

export function acquireReply(reply: unknown, ttlMs: number): AdapterAcquireResult {
  if (Array.isArray(reply) && reply[0] === 1 && reply.length === 3) return grant(reply, ttlMs, "acquire");
  if (Array.isArray(reply) && reply[0] === 0 && reply.length === 2 && isInteger(reply[1])) {
    // PTTL is -1 only for a key someone else wrote without expiry: no estimate then.
    return reply[1] >= 0
      ? { ok: false, reason: "held", retryAfterMs: Math.max(1, reply[1]) }
      : { ok: false, reason: "held" };
  }
  throw unreadable("acquire", reply, true);
}

export function extendReply(reply: unknown, ttlMs: number): AdapterExtendResult {
  if (Array.isArray(reply) && reply[0] === 1 && reply.length === 3) return grant(reply, ttlMs, "extend");
  if (Array.isArray(reply) && reply[0] === 0 && reply.length === 1) return { ok: false, reason: "not_held" };
  throw unreadable("extend", reply, true);
}

export function releaseReply(reply: unknown): AdapterReleaseResult {
  if (reply === 1) return { ok: true };
  if (reply === 0) return { ok: false, reason: "not_held" };
  throw unreadable("release", reply, true);
}

export function inspectReply(reply: unknown): LockState {
  if (Array.isArray(reply) && reply[0] === 0 && reply.length === 1) return { held: false };
  if (Array.isArray(reply) && reply[0] === 1 && (reply.length === 3 || reply.length === 4)) {
    const [, fence, expiresAt, owner] = reply;
    const ownerOk = owner === undefined || (typeof owner === "string" && owner.startsWith("o:"));
    if (isInteger(fence) && isInteger(expiresAt) && ownerOk) {
      return owner === undefined
        ? { held: true, fence, expiresAt }
        : { held: true, fence, expiresAt, owner: owner.slice(2) };
    }
  }
  throw unreadable("inspect", reply, false);
}

export function writeValueReply(reply: unknown): AdapterWriteResult {
  if (Array.isArray(reply) && reply[0] === 1 && reply.length === 3 && isInteger(reply[1]) && isInteger(reply[2])) {
    return { ok: true, version: reply[1], fence: reply[2] };
  }
  if (Array.isArray(reply) && reply[0] === 0 && reply.length === 1) return { ok: false, reason: "not_held" };
  if (Array.isArray(reply) && reply[0] === 2 && reply.length === 2 && isInteger(reply[1])) {
    return { ok: false, reason: "version_mismatch", version: reply[1] };
  }
  throw unreadable("write value", reply, true);
}

export function readValueReply(reply: unknown): StoredValue {
  if (Array.isArray(reply) && (reply.length === 2 || reply.length === 3)) {
    const [version, fence, data] = reply;
    const dataOk = data === undefined || (typeof data === "string" && data.startsWith("d:"));
    if (isInteger(version) && isInteger(fence) && dataOk) {
      return { json: data === undefined ? undefined : data.slice(2), version, fence };
    }
  }
  throw unreadable("read value", reply, false);
}
