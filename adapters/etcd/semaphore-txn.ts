/**
 * The etcd keys and transactions behind the semaphores, and the readers of
 * their answers.
 *
 * A permit is a **slot key** attached to the permit's own lease, named by the
 * limit it was granted under and its slot index, both zero-padded so that
 * names sort by limit:
 * - `<prefix><key>\0sem\0<limit>/<slot>`: the holder tag (a hash of the
 *   token: the guard every write compares against); its `create_revision`
 *   is the permit's fence;
 * - `<prefix><key>\0semholder\0<tag>`: the slot's name and the holder's
 *   `owner` text, on the same lease, outside the slot keys' range: a token
 *   holds at most one permit because a grant needs this key absent.
 * A grant creates a slot `< limit` that does not exist, in one transaction
 * that also compares the slot keys of every *other* limit's range as empty
 * (etcd compares every key of a `range_end` range) and the token's holder key
 * as absent, so at most `limit` slot keys exist, never under two limits at
 * once, and never two for one token. A refused transaction reads
 * the key's slots in its other branch, so the next attempt is computed from
 * the state that refused it.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";
import { base64url, sha256 } from "../../src/internal/encoding.js";
import { base64, fromBase64, int64, positive } from "./encoding.js";
import type { KeyValue, TxnAnswer } from "./txn.js";

/** Digits of the limit and the slot index in a slot key's name: room for limits up to 9999. */
const DIGITS = 4;

/** The etcd names of one semaphore key. */
export interface SemaphoreKeys {
  /** Start of the slot keys' range. */
  readonly slots: string;
  /** End (exclusive) of the slot keys' range. */
  readonly slotsEnd: string;
  /** Start of the holder keys' range. */
  readonly holders: string;
  readonly holdersEnd: string;
}

/** One slot: the limit it is named under and its index. */
export interface Slot {
  readonly limit: number;
  readonly index: number;
}

/** A live permit as a read of the slot range shows it. */
export interface SlotState extends Slot {
  readonly tag: string;
  readonly lease: string;
  readonly fence: number;
}

/** Lock keys never contain control characters, so these names are never a lock's nor another key's. */
export function semaphoreKeys(prefix: string, key: string): SemaphoreKeys {
  const base = `${prefix}${key}\u0000sem`;
  return {
    slots: `${base}\u0000`,
    slotsEnd: `${base}\u0001`,
    holders: `${base}holder\u0000`,
    holdersEnd: `${base}holder\u0001`,
  };
}

/** The guard value of `token`'s permit: a read of the slots (every contender's) never carries tokens. */
export async function holderTag(token: string): Promise<string> {
  return base64url(await sha256(`edgelock-semaphore:${token}`));
}

/** No slot is named so (limit 0): a guarded transaction on it always takes its reading branch. */
export const NO_SLOT: Slot = { limit: 0, index: 0 };

export const slotName = (slot: Slot) => `${pad(slot.limit)}/${pad(slot.index)}`;
const pad = (n: number) => String(n).padStart(DIGITS, "0");
export const slotKey = (keys: SemaphoreKeys, slot: Slot) => `${keys.slots}${slotName(slot)}`;
const holderKey = (keys: SemaphoreKeys, tag: string) => `${keys.holders}${tag}`;

const readSlots = (keys: SemaphoreKeys) => ({
  request_range: { key: base64(keys.slots), range_end: base64(keys.slotsEnd) },
});
const readHolders = (keys: SemaphoreKeys) => ({
  request_range: { key: base64(keys.holders), range_end: base64(keys.holdersEnd) },
});
const absent = (key: string, end?: string) => ({
  target: "CREATE",
  result: "EQUAL",
  key: base64(key),
  ...(end === undefined ? {} : { range_end: base64(end) }),
  create_revision: "0",
});
const tagIs = (keys: SemaphoreKeys, slot: Slot, tag: string) => ({
  target: "VALUE",
  result: "EQUAL",
  key: base64(slotKey(keys, slot)),
  value: base64(tag),
});
/** The slot and the holder key onto `lease`; the holder key keeps its value when `owner` is undefined. */
const putBoth = (keys: SemaphoreKeys, slot: Slot, tag: string, owner: string | undefined, lease: string) => [
  { request_put: { key: base64(slotKey(keys, slot)), value: base64(tag), lease, prev_kv: true } },
  {
    request_put:
      owner === undefined
        ? { key: base64(holderKey(keys, tag)), lease, ignore_value: true }
        : { key: base64(holderKey(keys, tag)), value: base64(`${slotName(slot)}\n${owner}`), lease },
  },
];

/**
 * Acquire: if `slot` is free, no slot of another limit exists and the token
 * holds no permit, create it on `lease`; else, if `mine` holds the tag (a retry), move it to `lease`,
 * which refreshes the expiry and keeps the fence; else read the slots.
 */
export function acquireTxn(
  keys: SemaphoreKeys,
  spec: { slot: Slot; mine: Slot; tag: string; owner: string; lease: string },
): unknown {
  const { slot, mine, tag, owner, lease } = spec;
  const own = `${keys.slots}${pad(slot.limit)}/`;
  const ownEnd = `${keys.slots}${pad(slot.limit)}0`;
  return {
    compare: [
      absent(slotKey(keys, slot)),
      absent(keys.slots, own),
      absent(ownEnd, keys.slotsEnd),
      absent(holderKey(keys, tag)),
    ],
    success: putBoth(keys, slot, tag, owner, lease),
    failure: [
      {
        request_txn: {
          compare: [tagIs(keys, mine, tag)],
          success: putBoth(keys, mine, tag, owner, lease),
          failure: [readSlots(keys)],
        },
      },
    ],
  };
}

/** Extend: if `slot` holds the tag, move both keys to `lease`; else read the slots. */
export function extendTxn(keys: SemaphoreKeys, slot: Slot, tag: string, lease: string): unknown {
  return {
    compare: [tagIs(keys, slot, tag)],
    success: putBoth(keys, slot, tag, undefined, lease),
    failure: [readSlots(keys)],
  };
}

/** Release: if `slot` holds the tag, delete both keys; else read the slots. */
export function releaseTxn(keys: SemaphoreKeys, slot: Slot, tag: string): unknown {
  return {
    compare: [tagIs(keys, slot, tag)],
    success: [
      { request_delete_range: { key: base64(slotKey(keys, slot)) } },
      { request_delete_range: { key: base64(holderKey(keys, tag)) } },
    ],
    failure: [readSlots(keys)],
  };
}

/** Inspect: the slots and the holder keys at one revision. */
export function inspectTxn(keys: SemaphoreKeys): unknown {
  return { success: [readSlots(keys), readHolders(keys)] };
}

/** What an acquire's transaction did: granted (with the fence), or the slots that refused it. */
export function acquireOutcome(
  answer: TxnAnswer,
  keys: SemaphoreKeys,
): { fence: number; retried: boolean } | { slots: readonly SlotState[] } {
  if (answer.succeeded === true) {
    return { fence: positive(int64(answer.header?.revision, "revision"), "revision"), retried: false };
  }
  const retry = answer.responses?.[0]?.response_txn;
  if (retry === undefined) throw unreadable("semaphore acquire");
  if (retry.succeeded === true) return { fence: movedFence(retry, "semaphore acquire"), retried: true };
  return { slots: slotsRead(retry, keys, "semaphore acquire") };
}

/** What a guarded extend did: the permit's fence, or the slots that refused it. */
export function extendOutcome(
  answer: TxnAnswer,
  keys: SemaphoreKeys,
): { fence: number } | { slots: readonly SlotState[] } {
  if (answer.succeeded !== true) return { slots: slotsRead(answer, keys, "semaphore extend") };
  return { fence: movedFence(answer, "semaphore extend") };
}

/** What a guarded release did: `true` when it deleted the permit, else the slots that refused it. */
export function releaseOutcome(answer: TxnAnswer, keys: SemaphoreKeys): true | { slots: readonly SlotState[] } {
  return answer.succeeded === true || { slots: slotsRead(answer, keys, "semaphore release") };
}

/** What inspect read: the live slots and the owner text of each, by slot name. */
export function inspected(
  answer: TxnAnswer,
  keys: SemaphoreKeys,
): { slots: readonly SlotState[]; owners: ReadonlyMap<string, string> } {
  const owners = new Map<string, string>();
  const range = answer.responses?.[1]?.response_range;
  if (range === undefined) throw unreadable("semaphore inspect");
  for (const kv of range.kvs ?? []) {
    const value = kv.value ? fromBase64(kv.value) : "";
    const newline = value.indexOf("\n");
    if (newline > 0) owners.set(value.slice(0, newline), value.slice(newline + 1));
  }
  return { slots: slotsRead(answer, keys, "semaphore inspect"), owners };
}

/** The slot keys a range read (the answer's first response) returned. */
function slotsRead(answer: TxnAnswer, keys: SemaphoreKeys, what: string): SlotState[] {
  const range = answer.responses?.[0]?.response_range;
  if (range === undefined) throw unreadable(what);
  return (range.kvs ?? []).map((kv) => slotState(kv, keys));
}

function slotState(kv: KeyValue, keys: SemaphoreKeys): SlotState {
  const name = fromBase64(kv.key ?? "").slice(keys.slots.length);
  const match = /^(\d{4})\/(\d{4})$/.exec(name);
  const limit = Number(match?.[1]);
  const index = Number(match?.[2]);
  if (!match || limit < 1 || index >= limit || kv.lease === undefined || !/^[1-9]\d*$/.test(kv.lease)) {
    throw new BackendError("a key in the semaphore's range in etcd was not written by edgelock", {
      maybeApplied: false,
      retryable: false,
    });
  }
  const fence = positive(int64(kv.create_revision, "create_revision"), "create_revision");
  return { limit, index, tag: kv.value ? fromBase64(kv.value) : "", lease: kv.lease, fence };
}

/** The fence carried by the previous version of a slot key that a put just moved. */
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
