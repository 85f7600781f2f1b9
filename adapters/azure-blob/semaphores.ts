/**
 * Counting semaphores over blob leases. A permit is the lease on one of the
 * key's `limit` slot blobs, so Azure's clock expires it and Azure itself
 * refuses a second lessee; the key's meta blob holds the fence counter and the
 * limit, bumped with `If-Match` once per grant. Layout in `semaphore-blobs.ts`.
 *
 * Acquire: list the key's blobs (1), lease a free slot with the lease id
 * derived from the token (1), bump the meta blob on the listed ETag (1), write
 * the permit's record under the slot lease (1). A retry is recognised by the
 * record naming the token's holder tag, or, when the earlier attempt lost the
 * lease's answer, by the slot this instance remembers trying for the token.
 *
 * @module
 */
import { BackendError, EdgelockError, InvalidArgumentError } from "../../src/errors.js";
import type {
  AdapterExtendRequest,
  AdapterExtendResult,
  AdapterReleaseRequest,
  AdapterReleaseResult,
  SemaphoreAcquireRequest,
  SemaphoreAcquireResult,
  SemaphoreAdapter,
  SemaphoreState,
} from "../../src/types.js";
import { blobNameFor } from "./blob-names.js";
import { holderTag, leaseIdFor } from "./lease-id.js";
import { leaseSeconds } from "./lease-seconds.js";
import { isLeasedByOther, isLeaseMismatch, isSuccess, LockBlobRequests } from "./lock-blob-requests.js";
import type { LockRecord } from "./lock-metadata.js";
import type { BlobRest } from "./rest.js";
import { answerError, serverNow } from "./rest.js";
import { SemaphoreBlobs, type SemaphoreListing } from "./semaphore-blobs.js";
import { bumpFence } from "./semaphore-fence.js";
import { ownGrant, retryAfter, semaphoreState } from "./semaphore-permits.js";

/** Largest limit: one slot blob per permit, and a listing per acquire that stays one page and small. */
export const AZURE_SEMAPHORE_MAX_LIMIT = 32;
const MEMORY_LIMIT = 1_000;

export interface BlobSemaphoresOptions {
  readonly rest: BlobRest;
  readonly container: string;
  readonly prefix: string;
  readonly createContainer: boolean;
}

/** What this instance knows of a token's permit: its slot, and the record it wrote there (with the ETag after). */
interface Mine {
  readonly slot: number;
  readonly record?: LockRecord | undefined;
  readonly etag?: string | undefined;
}

interface Target {
  readonly base: string;
  readonly leaseId: string;
  readonly holder: string;
  readonly memo: string;
}

export function azureBlobSemaphores(options: BlobSemaphoresOptions): SemaphoreAdapter {
  const { rest, prefix } = options;
  const requests = new LockBlobRequests(rest, options.container, options.createContainer);
  const blobs = new SemaphoreBlobs(rest, options.container);
  const mine = new Map<string, Mine>();
  const remember = (memo: string, value: Mine) => {
    mine.delete(memo);
    mine.set(memo, value);
    if (mine.size > MEMORY_LIMIT) mine.delete(mine.keys().next().value as string);
  };

  const target = async (key: string, token: string): Promise<Target> => {
    const base = SemaphoreBlobs.base(blobNameFor(prefix, key));
    const leaseId = await leaseIdFor(token);
    const holder = await holderTag(leaseId);
    return { base, leaseId, holder, memo: `${base}\n${holder}` };
  };

  /** The token's permit as this instance knows it, else as the listing shows it (the record names its holder). */
  const find = async (t: Target, signal: AbortSignal | undefined): Promise<Mine | undefined> => {
    const known = mine.get(t.memo);
    if (known) return known;
    const listing = await blobs.list(t.base, signal);
    const slot = [...listing.slots.values()].find((view) => view.leased && view.record.holder === t.holder);
    return slot && { slot: slot.index, record: slot.record, etag: slot.etag };
  };

  const acquire = async (request: SemaphoreAcquireRequest): Promise<SemaphoreAcquireResult> => {
    const { key, token, ttlMs, owner, limit, signal } = request;
    const seconds = leaseSeconds(ttlMs);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > AZURE_SEMAPHORE_MAX_LIMIT) {
      throw new InvalidArgumentError(`limit must be an integer from 1 to ${AZURE_SEMAPHORE_MAX_LIMIT}, got ${limit}`);
    }
    const t = await target(key, token);
    const listing = await blobs.list(t.base, signal);
    const views = [...listing.slots.values()];
    // Our own grant first (a retry after a lost answer), before any refusal.
    const recorded = ownGrant(listing, t.holder);
    const tried = mine.get(t.memo)?.slot;
    if (!recorded) {
      const others = views.filter((view) => view.leased && view.index !== tried);
      if (listing.meta && listing.meta.limit !== limit && others.length > 0) {
        return { ok: false, reason: "limit_mismatch", limit: listing.meta.limit };
      }
    }
    const candidates = recorded
      ? [recorded.index]
      : [
          ...(tried !== undefined && tried < limit ? [tried] : []),
          ...Array.from({ length: limit }, (_, i) => i).filter((i) => i !== tried && !listing.slots.get(i)?.leased),
        ];

    for (const slot of candidates) {
      const blob = `${t.base}${slot}`;
      // Remembered before sending: if the answer is lost, the retry tries this slot first.
      remember(t.memo, { slot });
      const answer = await requests.takeLease(blob, t.leaseId, seconds, undefined, signal);
      if (answer.status === 409 && isLeasedByOther(answer.code)) {
        mine.delete(t.memo);
        continue;
      }
      if (!isSuccess(answer)) throw answerError(answer, `acquire lease on ${blob}`, true);
      const granted = { ttlMs: seconds * 1000, expiresAt: serverNow(answer) + seconds * 1000 };
      try {
        return await settle(t, blob, slot, limit, owner, granted, recorded?.record.fence, listing, signal);
      } catch (error) {
        // The lease is taken: the caller must treat the acquire as possibly applied (the lock client then releases it).
        if (error instanceof BackendError && error.maybeApplied) throw error;
        throw new BackendError(`acquired the lease on ${blob} but could not settle its fence`, {
          cause: error,
          maybeApplied: true,
          retryable: !(error instanceof EdgelockError) || (error instanceof BackendError && error.retryable),
        });
      }
    }
    return { ok: false, reason: "held", retryAfterMs: retryAfter(listing) };
  };

  /** After the slot's lease is taken: the fence (kept for a retry, else bumped), then the permit's record. */
  const settle = async (
    t: Target,
    blob: string,
    slot: number,
    limit: number,
    owner: string | undefined,
    granted: { ttlMs: number; expiresAt: number },
    retriedFence: number | undefined,
    listing: SemaphoreListing,
    signal: AbortSignal | undefined,
  ): Promise<SemaphoreAcquireResult> => {
    let fence = retriedFence;
    if (fence === undefined) {
      const bumped = await bumpFence(blobs, t.base, slot, limit, listing.meta, signal);
      if ("mismatch" in bumped) {
        const released = await requests.releaseLease(blob, t.leaseId, signal);
        if (isSuccess(released)) mine.delete(t.memo);
        return { ok: false, reason: "limit_mismatch", limit: bumped.mismatch };
      }
      fence = bumped.fence;
    }
    const record: LockRecord = { fence, holder: t.holder, owner, ...granted };
    const written = await requests.writeRecord(blob, record, t.leaseId, undefined, signal);
    if (written.status === 412 && isLeaseMismatch(written.code)) {
      // The lease was broken or lost in between: no grant.
      mine.delete(t.memo);
      return { ok: false, reason: "held", retryAfterMs: retryAfter(listing) };
    }
    if (!isSuccess(written)) throw answerError(written, `write the permit record of ${blob}`, true);
    remember(t.memo, { slot, record, etag: written.headers.get("etag") ?? undefined });
    return { ok: true, fence, ...granted };
  };

  /**
   * Write `change(record)` on the token's slot under its lease, on the ETag
   * it was computed from (a stale view never writes an older fence back).
   */
  const rewrite = async (
    t: Target,
    change: (record: LockRecord) => LockRecord,
    signal: AbortSignal | undefined,
  ): Promise<{ slot: number; record: LockRecord; etag: string } | "not_held" | "unrecorded"> => {
    let known = await find(t, signal);
    for (let round = 0; round < 2 && known; round++) {
      if (!known.record) return "unrecorded";
      const blob = `${t.base}${known.slot}`;
      const record = change(known.record);
      const written = await requests.writeRecord(blob, record, t.leaseId, known.etag, signal);
      if (isSuccess(written)) {
        const etag = written.headers.get("etag") ?? "";
        remember(t.memo, { slot: known.slot, record, etag });
        return { slot: known.slot, record, etag };
      }
      if (written.status === 412 && written.code === "ConditionNotMet") {
        mine.delete(t.memo);
        known = await find(t, signal);
        continue;
      }
      if ((written.status === 412 && isLeaseMismatch(written.code)) || written.code === "BlobNotFound") break;
      throw answerError(written, `write the permit record of ${blob}`, true);
    }
    mine.delete(t.memo);
    return "not_held";
  };

  return {
    capabilities: {
      maxLimit: AZURE_SEMAPHORE_MAX_LIMIT,
      pushWakeups: false,
      // acquire: list + lease + meta bump + record; extend: record + lease;
      // release: record + lease release; inspect: list. Contention and a
      // stale meta ETag add a meta read and write per lost race (see docs).
      requestsPerOperation: { acquire: 4, extend: 2, release: 2, inspect: 1 },
    },
    acquire,

    async extend({ key, token, ttlMs, signal }: AdapterExtendRequest): Promise<AdapterExtendResult> {
      const seconds = leaseSeconds(ttlMs);
      const t = await target(key, token);
      const expiresAt = () => rest.serviceNow() + seconds * 1000;
      const done = await rewrite(t, (record) => ({ ...record, ttlMs: seconds * 1000, expiresAt: expiresAt() }), signal);
      if (typeof done === "string") return { ok: false, reason: "not_held" };
      const blob = `${t.base}${done.slot}`;
      // Acquire with the active lease id sets the new duration; If-Match refuses it if the slot changed hands.
      const answer = await requests.takeLease(blob, t.leaseId, seconds, done.etag, signal);
      if (isSuccess(answer)) {
        return {
          ok: true,
          fence: done.record.fence,
          ttlMs: seconds * 1000,
          expiresAt: serverNow(answer) + seconds * 1000,
        };
      }
      if (
        (answer.status === 409 && isLeasedByOther(answer.code)) ||
        (answer.status === 412 && answer.code === "ConditionNotMet") ||
        (answer.status === 404 && answer.code === "BlobNotFound")
      ) {
        mine.delete(t.memo);
        return { ok: false, reason: "not_held" };
      }
      throw answerError(answer, `extend the lease on ${blob}`, true);
    },

    async release({ key, token, signal }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
      const t = await target(key, token);
      const slot = mine.get(t.memo)?.slot;
      // Clear the holder's name first, so that the same token acquiring again is not taken for a retry.
      const done = await rewrite(
        t,
        (record) => ({ ...record, holder: undefined, ttlMs: undefined, expiresAt: undefined, owner: undefined }),
        signal,
      );
      // Also when the record does not name the token (an acquire that lost its lease's answer wrote
      // none; an earlier release cleared it and lost its lease release): Azure's answer to the lease id decides.
      const at = typeof done === "string" ? slot : done.slot;
      if (at === undefined) return { ok: false, reason: "not_held" };
      const blob = `${t.base}${at}`;
      const answer = await requests.releaseLease(blob, t.leaseId, signal);
      mine.delete(t.memo);
      if (isSuccess(answer)) return { ok: true };
      if (
        (answer.status === 409 && isLeaseMismatch(answer.code)) ||
        (answer.status === 404 && answer.code === "BlobNotFound")
      ) {
        return { ok: false, reason: "not_held" };
      }
      throw answerError(answer, `release the lease on ${blob}`, true);
    },

    async inspect(key, callOptions): Promise<SemaphoreState> {
      const listing = await blobs.list(SemaphoreBlobs.base(blobNameFor(prefix, key)), callOptions?.signal);
      return semaphoreState(listing);
    },
  };
}
