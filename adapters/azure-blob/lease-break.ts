/**
 * An operator's break (`forceRelease`) on Azure Blob: the lease is broken,
 * and the broken lease's id retired, so that its holder can no longer
 * release or re-acquire it.
 *
 * @module
 */
import type { AdapterForceReleaseResult } from "../../src/types.js";
import { MIN_LEASE_SECONDS } from "./lease-seconds.js";
import { isLeasedByOther, isLeaseMismatch, isSuccess, type LockBlobRequests } from "./lock-blob-requests.js";
import type { LockRecords } from "./lock-records.js";
import { answerError } from "./rest.js";

/** Free `blob` if its lease is active under the grant with `fence`. */
export async function breakLock(
  blobs: LockBlobRequests,
  records: LockRecords,
  blob: string,
  fence: number,
  signal: AbortSignal | undefined,
): Promise<AdapterForceReleaseResult> {
  const read = await records.read(blob, signal);
  if (!read?.leased || read.record.fence !== fence) return { ok: false, reason: "not_held" };
  // If-Match: lease operations keep the ETag and every grant writes the
  // record, so a changed ETag means the key changed hands since the read.
  // A lessee that has not written its fence yet is broken too, and its
  // acquire then fails at the fence write, so it was never granted.
  const broken = await blobs.breakLease(blob, read.etag, signal);
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
  const taken = await blobs.takeLease(blob, throwaway, MIN_LEASE_SECONDS, undefined, signal);
  if (isSuccess(taken)) {
    const released = await blobs.releaseLease(blob, throwaway, signal);
    if (!isSuccess(released)) throw answerError(released, `release the lease on ${blob}`, true);
  } else if (!(taken.status === 409 && isLeasedByOther(taken.code))) {
    throw answerError(taken, `retire the broken lease on ${blob}`, true);
  }
  return { ok: true };
}
