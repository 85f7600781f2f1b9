/**
 * The lock protocol over blob leases. One blob per key; the lease is the
 * lock (Azure's clock expires it); the fence lives in the blob's metadata
 * and is bumped under the new lease with `If-Match`, once per grant.
 *
 * @module
 */
import { BackendError, EdgelockError, InvalidArgumentError } from "../../src/errors.js";
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
import { holderTag, leaseIdFor } from "./lease-id.js";
import {
  isLeasedByOther,
  isLeaseMismatch,
  isSuccess,
  type LockBlobProperties,
  LockBlobRequests,
  ROUNDS,
} from "./lock-blob-requests.js";
import type { LockRecord } from "./lock-metadata.js";
import { answerError, type BlobAnswer, type BlobRest, serverNow } from "./rest.js";

/** Azure's bounds on a finite lease, in seconds. */
export const MIN_LEASE_SECONDS = 15;
export const MAX_LEASE_SECONDS = 60;
/** How many blobs' last-seen state an adapter remembers (it saves a read per acquire). */
const KNOWN_LIMIT = 1_000;
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

/** A blob's metadata as of an ETag. */
export interface Known {
  readonly etag: string;
  readonly record: LockRecord;
}

export interface BlobLocksOptions {
  readonly rest: BlobRest;
  readonly container: string;
  readonly prefix: string;
  readonly createContainer: boolean;
}

/** Whole seconds of lease for a TTL: rounded up, at least 15, at most 60. */
export function leaseSeconds(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new InvalidArgumentError(`ttlMs must be a positive integer number of milliseconds, got ${ttlMs}`);
  }
  const seconds = Math.max(MIN_LEASE_SECONDS, Math.ceil(ttlMs / 1000));
  if (seconds > MAX_LEASE_SECONDS) {
    throw new InvalidArgumentError(
      `ttlMs ${ttlMs} is longer than an Azure lease can last (${MAX_LEASE_SECONDS} s); use extend or withLock's auto-extend`,
    );
  }
  return seconds;
}

export class BlobLocks {
  readonly #rest: BlobRest;
  readonly #blobs: LockBlobRequests;
  readonly #prefix: string;
  // Metadata this instance last wrote or read, by blob. Lease operations do not
  // change a blob's ETag, so when a lease answer carries the remembered ETag,
  // the remembered metadata is current and need not be read again.
  readonly #known = new Map<string, Known>();
  /** When a waiter polls next (see `src/wait-schedule.ts`), by key. */
  readonly schedule = new WaitSchedule();

  constructor(options: BlobLocksOptions) {
    this.#rest = options.rest;
    this.#blobs = new LockBlobRequests(options.rest, options.container, options.createContainer);
    this.#prefix = options.prefix;
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
        const previous = this.#known.get(blob)?.record;
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
      const remembered = this.#known.get(blob);
      const current = remembered && remembered.etag === etag ? remembered : await this.#read(blob, signal);
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
        if (etag) this.#remember(blob, etag, record);
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
    const rewritten = await this.#rewrite(
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
        this.#known.delete(blob);
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
      this.#known.delete(blob);
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
    const rewritten = await this.#rewrite(blob, leaseId, holder, cleared, signal);
    if (rewritten && !isSuccess(rewritten.answer)) {
      const written = rewritten.answer;
      if ((written.status === 412 && isLeaseMismatch(written.code)) || written.code === "BlobNotFound") {
        this.#known.delete(blob);
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
    const blob = this.#blob(key);
    const read = await this.#readWithLease(blob, signal);
    if (!read?.leased || read.record.fence !== fence) return { ok: false, reason: "not_held" };
    // If-Match: lease operations keep the ETag and every grant writes the
    // record, so a changed ETag means the key changed hands since the read.
    // A lessee that has not written its fence yet is broken too, and its
    // acquire then fails at the fence write, so it was never granted.
    const broken = await this.#blobs.breakLease(blob, read.etag, signal);
    if (!isSuccess(broken)) {
      if ((broken.status === 409 && isLeaseMismatch(broken.code)) || broken.status === 412 || broken.status === 404) {
        return { ok: false, reason: "not_held" };
      }
      throw answerError(broken, `break the lease on ${blob}`, true);
    }
    // Azure lets a broken lease be released (and re-acquired) by its old id,
    // so the broken holder's release would still succeed. A throwaway lease,
    // taken and released at once, retires that id. If a contender is faster,
    // the id is retired as well.
    const throwaway = crypto.randomUUID();
    const taken = await this.#blobs.takeLease(blob, throwaway, MIN_LEASE_SECONDS, undefined, signal);
    if (isSuccess(taken)) {
      const released = await this.#blobs.releaseLease(blob, throwaway, signal);
      if (!isSuccess(released)) throw answerError(released, `release the lease on ${blob}`, true);
    } else if (!(taken.status === 409 && isLeasedByOther(taken.code))) {
      throw answerError(taken, `retire the broken lease on ${blob}`, true);
    }
    return { ok: true };
  }

  async inspect(key: string, signal?: AbortSignal): Promise<LockState> {
    const blob = this.#blob(key);
    const read = await this.#readWithLease(blob, signal);
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

  /** What this instance last saw of `blob`, if anything. */
  known(blob: string): Known | undefined {
    return this.#known.get(blob);
  }

  /** Remember `record` as `blob`'s metadata at `etag`. */
  remember(blob: string, etag: string, record: LockRecord): void {
    this.#remember(blob, etag, record);
  }

  /** Forget `blob` (a write whose outcome is unknown may have changed it). */
  forget(blob: string): void {
    this.#known.delete(blob);
  }

  /** Get Blob Properties, remembered. */
  readProperties(blob: string, signal: AbortSignal | undefined): Promise<LockBlobProperties | undefined> {
    return this.#readWithLease(blob, signal);
  }

  /**
   * Write `change(record)` under the lease, conditioned on the ETag of the
   * record it was computed from, so that a stale view can never write an
   * older fence back; a refused condition means the view was stale: read and
   * try again. `undefined` when the record does not name `holder` or no lease
   * is active. A successful write is remembered.
   */
  async #rewrite(
    blob: string,
    leaseId: string,
    holder: string,
    change: (current: LockRecord) => LockRecord,
    signal: AbortSignal | undefined,
  ): Promise<{ answer: BlobAnswer; record: LockRecord; etag: string } | undefined> {
    let current: Known | undefined = this.#known.get(blob);
    for (let round = 0; round < ROUNDS; round++) {
      if (current?.record.holder !== holder) {
        const read = await this.#readWithLease(blob, signal);
        if (!read || read.record.holder !== holder || !read.leased) return undefined;
        current = read;
      }
      const record = change(current.record);
      const answer = await this.#blobs.writeRecord(blob, record, leaseId, current.etag, signal);
      if (answer.status === 412 && answer.code === "ConditionNotMet") {
        current = undefined;
        continue;
      }
      const etag = answer.headers.get("etag");
      if (isSuccess(answer) && etag) this.#remember(blob, etag, record);
      return { answer, record, etag: current.etag };
    }
    throw new BackendError(`the metadata of ${blob} kept changing under the lease`, { maybeApplied: true });
  }

  #blob(key: string): string {
    return blobNameFor(this.#prefix, key);
  }

  /** Get Blob Properties, remembering the metadata it shows; `undefined` if there is no blob. */
  async #readWithLease(blob: string, signal: AbortSignal | undefined): Promise<LockBlobProperties | undefined> {
    const read = await this.#blobs.readProperties(blob, signal);
    if (read) this.#remember(blob, read.etag, read.record);
    return read;
  }

  async #read(blob: string, signal: AbortSignal | undefined): Promise<Known | undefined> {
    return this.#readWithLease(blob, signal);
  }

  #remember(blob: string, etag: string, record: LockRecord): Known {
    const known = { etag, record };
    this.#known.delete(blob);
    this.#known.set(blob, known);
    if (this.#known.size > KNOWN_LIMIT) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
    return known;
  }
}
