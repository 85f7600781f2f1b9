/**
 * Counting semaphores in etcd: a permit is a slot key on its own lease, so
 * etcd's leader expires permits as it does locks. Layout and transactions in
 * `semaphore-txn.ts`.
 *
 * Acquire is a lease grant and one transaction that creates a free slot (or,
 * for the token's own earlier grant, moves it to the new lease); a refused
 * transaction reads the slots, and the next attempt targets one the read
 * shows free. Extend is a lease grant and one guarded transaction; release
 * one guarded transaction; inspect one read plus a lease lookup per permit.
 * Each instance remembers the slot it tried for each token (before sending,
 * so a lost answer's retry looks there first); a token it never saw costs one
 * more transaction, the refused one reading where the permit is.
 *
 * @module
 */
import { BackendError, InvalidArgumentError } from "../../src/errors.js";
import type {
  AdapterExtendRequest,
  AdapterExtendResult,
  AdapterPollWaitRequest,
  AdapterReleaseRequest,
  AdapterReleaseResult,
  PermitState,
  SemaphoreAcquireRequest,
  SemaphoreAcquireResult,
  SemaphoreAdapter,
  SemaphoreState,
} from "../../src/types.js";
import { fromBase64 } from "./encoding.js";
import type { EtcdGateway } from "./gateway.js";
import { grantLease, leaseTimeToLive } from "./leases.js";
import {
  acquireOutcome,
  acquireTxn,
  extendOutcome,
  extendTxn,
  holderTag,
  inspected,
  inspectTxn,
  NO_SLOT,
  releaseOutcome,
  releaseTxn,
  type Slot,
  type SlotState,
  semaphoreKeys,
  slotKey,
  slotName,
} from "./semaphore-txn.js";
import { SpareLeases } from "./spare-leases.js";
import type { TxnAnswer } from "./txn.js";
import type { WakeWatches } from "./wake-watch.js";

/**
 * Largest limit: a refused acquire reads every slot, and inspect looks up
 * every permit's lease, so both stay small requests.
 */
export const ETCD_SEMAPHORE_MAX_LIMIT = 100;
/** Transactions one acquire sends before giving up (each refused one is another grant's or release's success). */
const ROUNDS = 16;
/** Tokens and keys remembered per instance; beyond it the oldest are forgotten (they cost one more transaction). */
const MEMORY_LIMIT = 4096;

/** A Map that forgets its oldest entries beyond {@link MEMORY_LIMIT}. */
class Recent<V> extends Map<string, V> {
  override set(key: string, value: V): this {
    this.delete(key);
    if (this.size >= MEMORY_LIMIT) this.delete(this.keys().next().value as string);
    return super.set(key, value);
  }
}

export function etcdSemaphores(gateway: EtcdGateway, prefix: string, watches: WakeWatches): SemaphoreAdapter {
  const spares = new SpareLeases();
  /** Per key and holder tag: the slot this instance last tried or held for the token. */
  const slotOf = new Recent<Slot>();
  /** Per key: the slot names this instance last saw taken, to aim a first attempt at a free one. */
  const taken = new Recent<Set<string>>();
  const txn = (body: unknown, what: string, mutating: boolean, signal: AbortSignal | undefined) =>
    gateway.call<TxnAnswer>({ path: "/v3/kv/txn", body, signal, what, mutating });

  const target = async (key: string, token: string) => {
    const keys = semaphoreKeys(prefix, key);
    const tag = await holderTag(token);
    return { keys, tag, memo: `${keys.slots}\n${tag}` };
  };
  const saw = (slotsKey: string, slots: readonly SlotState[]) => taken.set(slotsKey, new Set(slots.map(slotName)));
  const mark = (slotsKey: string, slot: Slot, isTaken: boolean) => {
    const names = taken.get(slotsKey) ?? new Set<string>();
    if (isTaken) names.add(slotName(slot));
    else names.delete(slotName(slot));
    taken.set(slotsKey, names);
  };

  const acquire = async (request: SemaphoreAcquireRequest): Promise<SemaphoreAcquireResult> => {
    const { key, token, ttlMs, owner, limit, signal } = request;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > ETCD_SEMAPHORE_MAX_LIMIT) {
      throw new InvalidArgumentError(`limit must be an integer from 1 to ${ETCD_SEMAPHORE_MAX_LIMIT}, got ${limit}`);
    }
    const { keys, tag, memo } = await target(key, token);
    const sentAt = Date.now();
    const lease = await spares.leaseFor(gateway, token, ttlMs, signal);
    const tried = slotOf.get(memo);
    let mine = tried;
    let slot = tried?.limit === limit ? tried : pick(limit, taken.get(keys.slots));
    for (let round = 0; round < ROUNDS; round++) {
      // Remembered before sending: if the answer is lost, the retry looks at this slot first.
      slotOf.set(memo, slot);
      const spec = { slot, mine: mine ?? slot, tag, owner: owner ?? "", lease: lease.id };
      const answer = await txn(acquireTxn(keys, spec), "semaphore acquire", true, signal);
      const outcome = acquireOutcome(answer, keys);
      if ("fence" in outcome) {
        const granted = outcome.retried ? spec.mine : slot;
        slotOf.set(memo, granted);
        mark(keys.slots, granted, true);
        return { ok: true, fence: outcome.fence, ttlMs: lease.ttlMs, expiresAt: sentAt + lease.ttlMs };
      }
      const slots = outcome.slots;
      saw(keys.slots, slots);
      // The token's own permit first (an earlier attempt applied, its answer lost), before any refusal.
      const own = slots.find((s) => s.tag === tag);
      if (own) {
        mine = own;
        slot = own;
        continue;
      }
      mine = undefined;
      const other = slots.find((s) => s.limit !== limit);
      const free = freeSlots(limit, slots);
      const next = free[Math.floor(Math.random() * free.length)];
      if (other || next === undefined) {
        slotOf.delete(memo);
        // Unused: the same token's next poll renews it rather than granting another.
        spares.keep(token, ttlMs, lease, sentAt);
        if (other) return { ok: false, reason: "limit_mismatch", limit: other.limit };
        // A wait sleeps on the slots from here (pollWait): any release after this read wakes it.
        watches.refused(keys.slots, token, answer.header?.revision);
        return { ok: false, reason: "held" };
      }
      slot = next;
    }
    throw new BackendError(`the semaphore "${key}" kept changing while a permit was acquired`, {
      maybeApplied: false,
    });
  };

  return {
    capabilities: {
      maxLimit: ETCD_SEMAPHORE_MAX_LIMIT,
      pushWakeups: false,
      // acquire: lease grant + transaction; extend: lease grant + guarded
      // transaction; release: guarded transaction; inspect: one read + one
      // lease lookup per live permit (counted with one). A lost race for a
      // slot, or a token this instance never saw, adds one transaction.
      requestsPerOperation: { acquire: 2, extend: 2, release: 1, inspect: 2 },
    },
    acquire,

    async pollWait(request: AdapterPollWaitRequest): Promise<void> {
      const keys = semaphoreKeys(prefix, request.key);
      const target = { key: keys.slots, rangeEnd: keys.slotsEnd, ownValue: await holderTag(request.token) };
      return watches.wait(target, request);
    },

    async extend({ key, token, ttlMs, signal }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const { keys, tag, memo } = await target(key, token);
      // A new lease of exactly the TTL asked for, swapped in under the guard (as for locks).
      const sentAt = Date.now();
      const lease = await grantLease(gateway, ttlMs, signal);
      let slot = slotOf.get(memo) ?? NO_SLOT;
      for (let round = 0; round < 2; round++) {
        const answer = await txn(extendTxn(keys, slot, tag, lease.id), "semaphore extend", true, signal);
        const outcome = extendOutcome(answer, keys);
        if ("fence" in outcome) {
          slotOf.set(memo, slot);
          return { ok: true, fence: outcome.fence, ttlMs: lease.ttlMs, expiresAt: sentAt + lease.ttlMs };
        }
        saw(keys.slots, outcome.slots);
        const own = outcome.slots.find((s) => s.tag === tag);
        if (!own) break;
        slot = own;
      }
      slotOf.delete(memo);
      return { ok: false, reason: "not_held" };
    },

    async release({ key, token, signal }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const { keys, tag, memo } = await target(key, token);
      let slot = slotOf.get(memo) ?? NO_SLOT;
      for (let round = 0; round < 2; round++) {
        const outcome = releaseOutcome(await txn(releaseTxn(keys, slot, tag), "semaphore release", true, signal), keys);
        if (outcome === true) {
          slotOf.delete(memo);
          mark(keys.slots, slot, false);
          return { ok: true };
        }
        saw(keys.slots, outcome.slots);
        const own = outcome.slots.find((s) => s.tag === tag);
        if (!own) break;
        slot = own;
      }
      slotOf.delete(memo);
      return { ok: false, reason: "not_held" };
    },

    async inspect(key, callOptions): Promise<SemaphoreState> {
      const signal = callOptions?.signal;
      const keys = semaphoreKeys(prefix, key);
      // A permit can move to a new lease (an extend) between the read and the
      // lease lookups: then read again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const { slots, owners } = inspected(await txn(inspectTxn(keys), "semaphore inspect", false, signal), keys);
        saw(keys.slots, slots);
        const first = slots[0];
        if (first === undefined) return { limit: null, permits: [] };
        const readAt = Date.now();
        const leases = await Promise.all(slots.map((s) => leaseTimeToLive(gateway, s.lease, signal)));
        const permits: PermitState[] = [];
        for (const [i, s] of slots.entries()) {
          const left = leases[i];
          if (!left?.keys.some((k) => fromBase64(k) === slotKey(keys, s))) break;
          const expiresAt = readAt + left.seconds * 1000;
          const owner = owners.get(slotName(s));
          permits.push(owner ? { fence: s.fence, expiresAt, owner } : { fence: s.fence, expiresAt });
        }
        if (permits.length < slots.length) continue;
        return { limit: first.limit, permits: permits.sort((a, b) => a.fence - b.fence) };
      }
      throw new BackendError(`the semaphore "${key}" kept changing while it was inspected`, { maybeApplied: false });
    },
  };
}

/** Slots of `limit` the read shows free. */
function freeSlots(limit: number, slots: readonly SlotState[]): Slot[] {
  const used = new Set(slots.map(slotName));
  return Array.from({ length: limit }, (_, index) => ({ limit, index })).filter((s) => !used.has(slotName(s)));
}

/** A slot to try first: one this instance has not seen taken, at random so that contenders spread; else any. */
function pick(limit: number, seen: ReadonlySet<string> | undefined): Slot {
  const all = Array.from({ length: limit }, (_, index) => ({ limit, index }));
  const free = seen ? all.filter((s) => !seen.has(slotName(s))) : all;
  const from = free.length > 0 ? free : all;
  return from[Math.floor(Math.random() * from.length)] ?? { limit, index: 0 };
}
