import { BackendError } from "../../src/errors.js";
import { isSuccess, type LockBlobProperties, type LockBlobRequests, ROUNDS } from "./lock-blob-requests.js";
import type { LockRecord } from "./lock-metadata.js";
import type { BlobAnswer } from "./rest.js";

/** How many blobs' last-seen state an adapter remembers (it saves a read per acquire). */
const KNOWN_LIMIT = 1_000;

/** A blob's metadata as of an ETag. */
export interface Known {
  readonly etag: string;
  readonly record: LockRecord;
}

/**
 * The lock blobs' records as this instance last wrote or read them, with the
 * reads that refresh them and the rewrites under a lease that depend on them.
 */
export class LockRecords {
  readonly #blobs: LockBlobRequests;
  // Metadata this instance last wrote or read, by blob. Lease operations do not
  // change a blob's ETag, so when a lease answer carries the remembered ETag,
  // the remembered metadata is current and need not be read again.
  readonly #known = new Map<string, Known>();

  constructor(blobs: LockBlobRequests) {
    this.#blobs = blobs;
  }

  /** What this instance last saw of `blob`, if anything. */
  known(blob: string): Known | undefined {
    return this.#known.get(blob);
  }

  /** Remember `record` as `blob`'s metadata at `etag`. */
  remember(blob: string, etag: string, record: LockRecord): void {
    this.#known.delete(blob);
    this.#known.set(blob, { etag, record });
    if (this.#known.size > KNOWN_LIMIT) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }

  /** Forget `blob` (a write whose outcome is unknown may have changed it). */
  forget(blob: string): void {
    this.#known.delete(blob);
  }

  /** Get Blob Properties, remembering the metadata it shows; `undefined` if there is no blob. */
  async read(blob: string, signal: AbortSignal | undefined): Promise<LockBlobProperties | undefined> {
    const read = await this.#blobs.readProperties(blob, signal);
    if (read) this.remember(blob, read.etag, read.record);
    return read;
  }

  /**
   * Write `change(record)` under the lease, conditioned on the ETag of the
   * record it was computed from, so that a stale view can never write an
   * older fence back; a refused condition means the view was stale: read and
   * try again. `undefined` when the record does not name `holder` or no lease
   * is active. A successful write is remembered.
   */
  async rewrite(
    blob: string,
    leaseId: string,
    holder: string,
    change: (current: LockRecord) => LockRecord,
    signal: AbortSignal | undefined,
  ): Promise<{ answer: BlobAnswer; record: LockRecord; etag: string } | undefined> {
    let current: Known | undefined = this.#known.get(blob);
    for (let round = 0; round < ROUNDS; round++) {
      if (current?.record.holder !== holder) {
        const read = await this.read(blob, signal);
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
      if (isSuccess(answer) && etag) this.remember(blob, etag, record);
      return { answer, record, etag: current.etag };
    }
    throw new BackendError(`the metadata of ${blob} kept changing under the lease`, { maybeApplied: true });
  }
}
