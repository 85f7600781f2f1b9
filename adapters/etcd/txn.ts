/**
 * The etcd transactions behind each lock operation, and the readers of their
 * answers.
 *
 * A lock is two keys attached to one lease: `<prefix><key>` holds the owner
 * token (the guard every write compares against) and `<prefix><key>\0owner`
 * the holder's description. Keys never contain control characters, so the
 * second name can never be another lock's. The fence is the lock key's
 * `create_revision`: etcd's cluster-wide revision when the key was created,
 * strictly increasing and never reset, while a retry or an extension (a put
 * on the existing key) only moves its `mod_revision`.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";
import { base64, fromBase64, int64, positive } from "./encoding.js";

/** A key-value pair as the gateway answers it (defaults omitted). */
export interface KeyValue {
  readonly key?: string;
  readonly value?: string;
  readonly create_revision?: string;
  readonly mod_revision?: string;
  readonly version?: string;
  readonly lease?: string;
}

/** A `/v3/kv/txn` answer, nested transactions included. */
export interface TxnAnswer {
  readonly header?: { readonly revision?: string };
  readonly succeeded?: boolean;
  readonly responses?: readonly {
    readonly response_put?: { readonly prev_kv?: KeyValue };
    readonly response_range?: { readonly kvs?: readonly KeyValue[] };
    readonly response_txn?: TxnAnswer;
  }[];
}

/** The etcd names of one lock's keys. */
export interface LockKeys {
  readonly lock: string;
  readonly owner: string;
}

export function lockKeys(prefix: string, key: string): LockKeys {
  return { lock: `${prefix}${key}`, owner: `${prefix}${key}\u0000owner` };
}

const valueIs = (key: string, token: string) => ({
  target: "VALUE",
  result: "EQUAL",
  key: base64(key),
  value: base64(token),
});

const put = (key: string, value: string | undefined, lease: string) => ({
  request_put:
    value === undefined
      ? { key: base64(key), lease, ignore_value: true, prev_kv: true }
      : { key: base64(key), value: base64(value), lease, prev_kv: true },
});

/**
 * Acquire: if the lock key does not exist, create both keys on `lease`;
 * else, if it holds `token` (a retry), move both keys to `lease`, which
 * refreshes the expiry and keeps the fence; else change nothing.
 */
export function acquireTxn(keys: LockKeys, token: string, owner: string, lease: string): unknown {
  return {
    compare: [{ target: "CREATE", result: "EQUAL", key: base64(keys.lock), create_revision: "0" }],
    success: [put(keys.lock, token, lease), put(keys.owner, owner, lease)],
    failure: [
      {
        request_txn: {
          compare: [valueIs(keys.lock, token)],
          success: [put(keys.lock, token, lease), put(keys.owner, owner, lease)],
        },
      },
    ],
  };
}

/** Extend: if the lock key holds `token`, move both keys to `lease`, keeping their values. */
export function extendTxn(keys: LockKeys, token: string, lease: string): unknown {
  return {
    compare: [valueIs(keys.lock, token)],
    success: [put(keys.lock, token, lease), put(keys.owner, undefined, lease)],
  };
}

/** Release: if the lock key holds `token`, delete both keys. */
export function releaseTxn(keys: LockKeys, token: string): unknown {
  return {
    compare: [valueIs(keys.lock, token)],
    success: [
      { request_delete_range: { key: base64(keys.lock) } },
      { request_delete_range: { key: base64(keys.owner) } },
    ],
  };
}

/**
 * Force release: if the lock key was created at `fence` (the holder named by
 * its fence, whatever its token), delete both keys. A later holder's key has
 * a later create revision, so a retry or a late break never frees it.
 */
export function forceReleaseTxn(keys: LockKeys, fence: number): unknown {
  return {
    compare: [{ target: "CREATE", result: "EQUAL", key: base64(keys.lock), create_revision: String(fence) }],
    success: [
      { request_delete_range: { key: base64(keys.lock) } },
      { request_delete_range: { key: base64(keys.owner) } },
    ],
  };
}

/** Inspect: read both keys at one revision. */
export function inspectTxn(keys: LockKeys): unknown {
  return { success: [{ request_range: { key: base64(keys.lock) } }, { request_range: { key: base64(keys.owner) } }] };
}

/** The fence of an acquire: a new key's revision, or the existing key's on a retry; `undefined` when held elsewhere. */
export function acquiredFence(answer: TxnAnswer): number | undefined {
  if (answer.succeeded === true) return positive(int64(answer.header?.revision, "revision"), "revision");
  const retry = answer.responses?.[0]?.response_txn;
  if (retry === undefined) throw unreadable("acquire");
  return retry.succeeded === true ? movedFence(retry, "acquire") : undefined;
}

/** The fence of a successful extend, `undefined` when the token does not hold the key. */
export function extendedFence(answer: TxnAnswer): number | undefined {
  return answer.succeeded === true ? movedFence(answer, "extend") : undefined;
}

/** What inspect read: the lock key (if any) and the owner text. */
export function inspected(answer: TxnAnswer): { lock: KeyValue | undefined; owner: string | undefined } {
  const [lock, owner] = answer.responses ?? [];
  if (lock?.response_range === undefined || owner?.response_range === undefined) throw unreadable("inspect");
  const text = owner.response_range.kvs?.[0]?.value;
  return { lock: lock.response_range.kvs?.[0], owner: text ? fromBase64(text) : undefined };
}

/** The fence carried by the previous version of a lock key that a put just moved. */
function movedFence(answer: TxnAnswer, what: string): number {
  const previous = answer.responses?.[0]?.response_put?.prev_kv;
  if (previous === undefined) throw unreadable(what);
  return positive(int64(previous.create_revision, "create_revision"), "create_revision");
}

function unreadable(what: string): BackendError {
  return new BackendError(`etcd's answer to the ${what} transaction is not the one edgelock asked for`, {
    maybeApplied: true,
    retryable: false,
  });
}
