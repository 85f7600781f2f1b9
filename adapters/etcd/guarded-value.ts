/**
 * The guarded value in etcd: the transactions behind `readValue` and
 * `writeValue`, and the readers of their answers.
 *
 * A key's value lives in `<prefix><key>\0value`, attached to no lease (it
 * outlives the lock), as `<fence>\n<json>`, or `<fence>` alone for a deletion:
 * the key is never deleted, so its etcd `version` (writes since creation)
 * counts every write and deletion, rising by one and never repeating.
 * `<prefix><key>\0writeid` holds the id of the last write, written in the same
 * transaction, so a retry is recognised by comparing it.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";
import type { AdapterWriteResult, StoredValue } from "../../src/types.js";
import { base64, fromBase64, int64, positive } from "./encoding.js";
import type { KeyValue, LockKeys, TxnAnswer } from "./txn.js";

/** Largest guarded value, bytes of JSON: base64 and the envelope keep the request far below etcd's 1.5 MiB default. */
export const ETCD_MAX_VALUE_BYTES = 262_144;

/** The etcd names of a key's lock and value keys. */
export interface ValueKeys extends LockKeys {
  readonly value: string;
  readonly writeId: string;
}

export function valueKeys(lock: LockKeys): ValueKeys {
  return { ...lock, value: `${lock.lock}\u0000value`, writeId: `${lock.lock}\u0000writeid` };
}

/** What a write asks for. */
export interface WriteSpec {
  readonly token: string;
  /** The fence the token is believed to hold (0 when unknown: the compare then fails and reads it). */
  readonly fence: number;
  readonly json: string | null;
  readonly writeId: string;
  readonly expectedVersion?: number | undefined;
}

/**
 * Write: if the stored write id is this one, read the value (already
 * applied); else, if the lock key holds the token under `fence` (and the
 * value has the expected version), put the value and the write id; else read
 * the lock key and the value's version, to tell why.
 */
export function writeTxn(keys: ValueKeys, spec: WriteSpec): unknown {
  const guard: unknown[] = [
    { target: "VALUE", result: "EQUAL", key: base64(keys.lock), value: base64(spec.token) },
    { target: "CREATE", result: "EQUAL", key: base64(keys.lock), create_revision: String(spec.fence) },
  ];
  if (spec.expectedVersion !== undefined) {
    guard.push({ target: "VERSION", result: "EQUAL", key: base64(keys.value), version: String(spec.expectedVersion) });
  }
  const stored = spec.json === null ? String(spec.fence) : `${spec.fence}\n${spec.json}`;
  return {
    compare: [{ target: "VALUE", result: "EQUAL", key: base64(keys.writeId), value: base64(spec.writeId) }],
    success: [{ request_range: { key: base64(keys.value) } }],
    failure: [
      {
        request_txn: {
          compare: guard,
          success: [
            { request_put: { key: base64(keys.value), value: base64(stored), prev_kv: true } },
            { request_put: { key: base64(keys.writeId), value: base64(spec.writeId) } },
          ],
          failure: [
            { request_range: { key: base64(keys.lock) } },
            { request_range: { key: base64(keys.value), keys_only: true } },
          ],
        },
      },
    ],
  };
}

/** A write's outcome, or the token's real fence when the one named was not it. */
export type WriteOutcome = { readonly result: AdapterWriteResult } | { readonly fence: number };

export function writeOutcome(answer: TxnAnswer, spec: WriteSpec): WriteOutcome {
  if (answer.succeeded === true) {
    const kv = answer.responses?.[0]?.response_range?.kvs?.[0];
    if (kv === undefined) throw unreadable("an applied write's value is missing");
    const stored = storedValue(kv);
    return { result: { ok: true, version: stored.version, fence: stored.fence } };
  }
  const inner = answer.responses?.[0]?.response_txn;
  if (inner === undefined) throw unreadable("no nested answer");
  if (inner.succeeded === true) {
    const previous = inner.responses?.[0]?.response_put;
    if (previous === undefined) throw unreadable("no put answer");
    const version = int64(previous.prev_kv?.version, "version") + 1;
    return { result: { ok: true, version, fence: spec.fence } };
  }
  const [lockRead, valueRead] = inner.responses ?? [];
  if (lockRead?.response_range === undefined || valueRead?.response_range === undefined) throw unreadable("no reads");
  const lock = lockRead.response_range.kvs?.[0];
  if (lock?.value === undefined || fromBase64(lock.value) !== spec.token) {
    return { result: { ok: false, reason: "not_held" } };
  }
  const fence = positive(int64(lock.create_revision, "create_revision"), "create_revision");
  if (fence !== spec.fence) return { fence };
  const version = int64(valueRead.response_range.kvs?.[0]?.version, "version");
  if (spec.expectedVersion !== undefined && version !== spec.expectedVersion) {
    return { result: { ok: false, reason: "version_mismatch", version } };
  }
  throw unreadable("the guard failed yet every compare holds");
}

/** The range request of a read. */
export function readRange(keys: ValueKeys): unknown {
  return { key: base64(keys.value) };
}

/** What a read found: the value key as stored, or nothing yet. */
export function readValueAnswer(answer: { kvs?: readonly KeyValue[] }): StoredValue {
  const kv = answer.kvs?.[0];
  return kv === undefined ? { json: undefined, version: 0, fence: 0 } : storedValue(kv);
}

function storedValue(kv: KeyValue): StoredValue {
  const version = positive(int64(kv.version, "version"), "version");
  const text = kv.value === undefined ? "" : fromBase64(kv.value);
  const cut = text.indexOf("\n");
  const fenceText = cut < 0 ? text : text.slice(0, cut);
  if (!/^[1-9]\d*$/.test(fenceText) || !Number.isSafeInteger(Number(fenceText))) {
    throw new BackendError("the guarded value key in etcd was not written by edgelock", {
      maybeApplied: false,
      retryable: false,
    });
  }
  return { json: cut < 0 ? undefined : text.slice(cut + 1), version, fence: Number(fenceText) };
}

function unreadable(detail: string): BackendError {
  return new BackendError(`etcd's answer to the guarded write is not the one edgelock asked for (${detail})`, {
    maybeApplied: true,
    retryable: false,
  });
}
