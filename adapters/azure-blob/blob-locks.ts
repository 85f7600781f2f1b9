/**
 * The lock protocol over blob leases. One blob per key; the lease is the
 * lock (Azure's clock expires it); the fence lives in the blob's metadata
 * and is bumped under the new lease with `If-Match`, once per grant.
 *
 * @module
 */
import { BackendError, EdgelockError } from "../../src/errors.js";
import type {
  AdapterAcquireRequest,
  AdapterAcquireResult,
  AdapterExtendRequest,
  AdapterExtendResult,
  AdapterForceReleaseRequest,
  AdapterForceReleaseResult,
  AdapterReleaseRequest,
  AdapterReleaseResult,
  LockState,
} from "../../src/types.js";
import { WaitSchedule } from "../../src/wait-schedule.js";
import { blobNameFor } from "./blob-names.js";
import { breakLock } from "./lease-break.js";
import { holderTag, leaseIdFor } from "./lease-id.js";
import { leaseSeconds, MAX_LEASE_SECONDS } from "./lease-seconds.js";
import { isLeasedByOther, isLeaseMismatch, isSuccess, LockBlobRequests, ROUNDS } from "./lock-blob-requests.js";
import type { LockRecord } from "./lock-metadata.js";
import { LockRecords } from "./lock-records.js";
import { answerError, type BlobRest, serverNow } from "./rest.js";

/**
 * An acquire whose token the record names is a retry of that grant only if
 * the grant surely had not ended when the lease was taken again. Azure's
 * `Date` has whole seconds, and the recorded expiry is an estimate of the
 * service's clock: within this of it, the grant may have expired, and the
 * acquire gets a new fence (a greater fence is always safe; a reused one is
 * safe only for a grant that never ended).
 */
const RETRY_MARGIN_MS = 2_000;
/** The record's fields of a grant, when there is none. */
const NO_GRANT = { ttlMs: undefined, expiresAt: undefined, owner: undefined, acquiredAt: undefined } as const;

export interface BlobLocksOptions {
  readonly rest: BlobRest;
  readonly container: string;
  readonly prefix: string;
  readonly createContainer: boolean;
}

export class BlobLocks {
  readonly #rest: BlobRest;
  readonly #blobs: LockBlobRequests;
  readonly #prefix: string;
  /** The lock records as this instance last saw them (the guarded value's writes keep them current too). */
  readonly records: LockRecords;
  /** When a waiter polls next (see `src/wait-schedule.ts`), by key. */
  readonly schedule = new WaitSchedule();

  constructor(options: BlobLocksOptions) {
    this.#rest = options.rest;
    this.#blobs = new LockBlobRequests(options.rest, options.container, options.createContainer);
    this.#prefix = options.prefix;
    this.records = new LockRecords(this.#blobs);
  }

  async acquire({ key, token, ttlMs, owner, signal }: AdapterAcquireRequest): Promise<AdapterAcquireResult> {
    const seconds = leaseSeconds(ttlMs);
    const blob = this.#blob(key);
    const leaseId = await leaseIdFor(token);
    const holder = await holderTag(leaseId);

    // 1. The lease: granted if the blob is free, expired, or already leased
    //    with this id (a retry after a lost answer).
    const leased = await this.#blobs.takeLease(blob, leaseId, seconds, undefined, signal);
    if (leased.status === 409 && isLeasedByOther(leased.code)) {
      // Azure's refusal says nothing of the holder, and what this instance last saw of the record is
      // older than the holder's grant: showing it would make every refusal look like the same holder,
      // so the schedule could never tell it was beaten to a release. It learns holds and hand-offs
      // from this instance's own grants and releases instead.
      this.schedule.refused(key, token, undefined);
      return { ok: false, reason: "held" };
    }
    if (!isSuccess(leased)) throw answerError(leased, `acquire lease on ${blob}`, true);
    const granted = {
      ttlMs: seconds * 1000,
      expiresAt: serverNow(leased) + seconds * 1000,
      acquiredAt: serverNow(leased),
    };

    try {
      const etag = leased.headers.get("etag") ?? "";
      const result = await this.#fence(blob, leaseId, holder, owner, etag, serverNow(leased), granted, signal);
      if (result.ok) {
        const previous = this.records.known(blob)?.record;
        this.schedule.granted(key, token, result.fence, Date.now() + result.ttlMs, {
          releasedAt: previous?.releasedAt,
          lastHeldMs: previous?.heldMs,
        });
      }
      return result;
    } catch (error) {
      // The lease is taken: whatever failed after it, the caller must treat
      // the acquire as possibly applied (the lock client then releases it).
      if (error instanceof BackendError && error.maybeApplied) throw error;
      throw new BackendError(`acquired the lease on ${blob} but could not settle its fence`, {
        cause: error,
        maybeApplied: true,
        retryable: !(error instanceof EdgelockError) || (error instanceof BackendError && error.retryable),
      });
    }
  }

  /** Step 2 of acquire, under the lease just taken. */
  async #fence(
    blob: string,
    leaseId: string,
    holder: string,
    owner: string | undefined,
    leaseEtag: string,
    now: number,
    granted: { ttlMs: number; expiresAt: number; acquiredAt: number },
    signal: AbortSignal | undefined,
  ): Promise<AdapterAcquireResult> {
    // 2. The fence: already ours if the metadata names this lease and its
    //    grant had not ended (an earlier attempt got this far: the record is
    //    rewritten with the expiry the retry's lease has), else the next one,
    //    written under the lease. A release clears the name, an expiry ends
    //    the grant: the same token acquiring again then gets a new fence.
    let etag = leaseEtag;
    for (let round = 0; round < ROUNDS; round++) {
      const remembered = this.records.known(blob);
      const current = remembered && remembered.etag === etag ? remembered : await this.records.read(blob, signal);
      if (!current) throw new BackendError(`lock blob ${blob} vanished while leased`, { maybeApplied: true });
      const retry = current.record.holder === holder && (current.record.expiresAt ?? 0) > now + RETRY_MARGIN_MS;
      const fence = retry ? current.record.fence : current.record.fence + 1;
      // The guarded value's fields ride along: Set Blob Metadata replaces them all.
      const record: LockRecord = { ...current.record, fence, holder, owner, ...granted };
      if (!Number.isSafeInteger(record.fence)) {
        throw new BackendError(`fence of ${blob} exhausted the safe integers`, {
          maybeApplied: false,
          retryable: false,
        });
      }
      const written = await this.#blobs.writeRecord(blob, record, leaseId, current.etag, signal);
      if (isSuccess(written)) {
        const etag = written.headers.get("etag");
        if (etag) this.records.remember(blob, etag, record);
        return { ok: true, fence: record.fence, ttlMs: granted.ttlMs, expiresAt: granted.expiresAt };
      }
      // Only the lease holder can write, so a changed ETag means a concurrent
      // attempt of this same acquire wrote first: read again, and find it.
      if (written.status === 412 && written.code === "ConditionNotMet") {
        etag = "";
        continue;
      }
      // The lease was broken or lost between the two requests: no grant.
      if (written.status === 412 && isLeaseMismatch(written.code)) return { ok: false, reason: "held" };
      throw answerError(written, `write the fence of ${blob}`, true);
    }
    throw new BackendError(`the metadata of ${blob} kept changing under the lease`, { maybeApplied: true });
  }

  async extend({ key, token, ttlMs, signal }: AdapterExtendRequest): Promise<AdapterExtendResult> {
    const seconds = leaseSeconds(ttlMs);
    const blob = this.#blob(key);
    const leaseId = await leaseIdFor(token);
    const holder = await holderTag(leaseId);

    // 1. Prove the lease is active and ours: Azure refuses a write with a
    //    lease id unless that lease is active (an expired lease is not held,
    //    even if nobody took it since). The write records the new expiry.
    const rewritten = await this.records.rewrite(
      blob,
      leaseId,
      holder,
      (current) => ({ ...current, ttlMs: seconds * 1000, expiresAt: this.#rest.serviceNow() + seconds * 1000 }),
      signal,
    );
    if (!rewritten) return { ok: false, reason: "not_held" };
    const { answer: written, record } = rewritten;
    if (!isSuccess(written)) {
      if ((written.status === 412 && isLeaseMismatch(written.code)) || written.code === "BlobNotFound") {
        this.records.forget(blob);
        return { ok: false, reason: "not_held" };
      }
      throw answerError(written, `extend the lease on ${blob}`, true);
    }
    const etag = written.headers.get("etag");
    // 2. Acquire with the active lease id sets the new duration (renew would
    //    keep the original one). `If-Match` refuses it if the lease ended in
    //    between and someone else was granted the key.
    const answer = await this.#blobs.takeLease(blob, leaseId, seconds, etag ?? rewritten.etag, signal);
    if (isSuccess(answer)) {
      this.schedule.extended(key, token, Date.now() + seconds * 1000);
      return { ok: true, fence: record.fence, ttlMs: seconds * 1000, expiresAt: serverNow(answer) + seconds * 1000 };
    }
    if (
      (answer.status === 409 && isLeasedByOther(answer.code)) ||
      (answer.status === 412 && answer.code === "ConditionNotMet") ||
      (answer.status === 404 && answer.code === "BlobNotFound")
    ) {
      this.records.forget(blob);
      return { ok: false, reason: "not_held" };
    }
    throw answerError(answer, `extend the lease on ${blob}`, true);
  }

  async release(request: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
    try {
      return await this.#release(request);
    } finally {
      // Whatever the answer: a local waiter woken in vain costs one request.
      this.schedule.released(request.key, request.token);
    }
  }

  async #release({ key, token, signal }: AdapterReleaseRequest): Promise<AdapterReleaseResult> {
    const blob = this.#blob(key);
    const leaseId = await leaseIdFor(token);
    const holder = await holderTag(leaseId);

    // 1. Clear the holder's name from the record, under the lease, so that
    //    the same token acquiring again is not taken for a retry of this
    //    grant. The fence is kept: it is the counter.
    // When, and after how long a hold, for the next waiters' schedule.
    const releasedAt = this.#rest.serviceNow();
    const cleared = (current: LockRecord): LockRecord => ({
      ...current,
      holder: undefined,
      ...NO_GRANT,
      releasedAt,
      heldMs: current.acquiredAt === undefined ? undefined : Math.max(0, releasedAt - current.acquiredAt),
    });
    const rewritten = await this.records.rewrite(blob, leaseId, holder, cleared, signal);
    if (rewritten && !isSuccess(rewritten.answer)) {
      const written = rewritten.answer;
      if ((written.status === 412 && isLeaseMismatch(written.code)) || written.code === "BlobNotFound") {
        this.records.forget(blob);
        return { ok: false, reason: "not_held" };
      }
      throw answerError(written, `release the lease on ${blob}`, true);
    }
    // 2. The lease. Also when the record does not name this token: an earlier
    //    release may have cleared it and lost its lease release; Azure's
    //    answer to the lease id decides.
    const answer = await this.#blobs.releaseLease(blob, leaseId, signal);
    if (isSuccess(answer)) return { ok: true };
    // Azure answers LeaseNotPresentWithLeaseOperation for a lease already
    // released; Azurite answers LeaseIdMismatchWithLeaseOperation.
    if (
      (answer.status === 409 && isLeaseMismatch(answer.code)) ||
      (answer.status === 404 && answer.code === "BlobNotFound")
    ) {
      return { ok: false, reason: "not_held" };
    }
    throw answerError(answer, `release the lease on ${blob}`, true);
  }

  async forceRelease({ key, fence, signal }: AdapterForceReleaseRequest): Promise<AdapterForceReleaseResult> {
    return breakLock(this.#blobs, this.records, this.#blob(key), fence, signal);
  }

  async inspect(key: string, signal?: AbortSignal): Promise<LockState> {
    const blob = this.#blob(key);
    const read = await this.records.read(blob, signal);
    if (!read?.leased) return { held: false };
    const { record, now } = read;
    // Release clears the record's holder, then frees the lease; acquire takes
    // the lease, then writes the record. Between the two requests the lease is
    // active under a record naming no holder: a grant released, or one not yet
    // made, whose fence and owner would be the previous grant's (an election
    // would see that term come back without its leader). As for semaphore slots,
    // only a record naming the lease's holder is a grant.
    if (record.holder === undefined) return { held: false };
    // Azure does not say when a lease ends: grants and extends record it.
    const expiresAt = record.expiresAt ?? now + MAX_LEASE_SECONDS * 1000;
    return { held: true, fence: record.fence, expiresAt, owner: record.owner };
  }

  /** The blob behind `key`. */
  blobFor(key: string): string {
    return this.#blob(key);
  }

  #blob(key: string): string {
    return blobNameFor(this.#prefix, key);
  }
}
