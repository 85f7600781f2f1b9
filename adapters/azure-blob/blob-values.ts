/**
 * The guarded value on Azure Blob: the lock blob's own content, written with
 * Put Blob under the holder's lease id, so Azure itself refuses the write
 * unless that lease is active. Its version, writer's fence and last write id
 * live in the blob's metadata next to the lock record, and `If-Match` on the
 * ETag this instance last saw makes the version check part of the same
 * request.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";
import type { AdapterWriteRequest, AdapterWriteResult, StoredValue } from "../../src/types.js";
import type { BlobLocks } from "./blob-locks.js";
import { holderTag, leaseIdFor } from "./lease-id.js";
import { isLeaseMismatch, isSuccess, ROUNDS } from "./lock-blob-requests.js";
import { type LockRecord, readRecord, recordHeaders } from "./lock-metadata.js";
import type { Known } from "./lock-records.js";
import { answerError, type BlobRest } from "./rest.js";

/** Largest guarded value, bytes of JSON (1 MiB; one Put Blob takes far more). */
export const AZURE_BLOB_MAX_VALUE_BYTES = 1_048_576;

const encoder = new TextEncoder();

export class BlobValues {
  readonly #rest: BlobRest;
  readonly #locks: BlobLocks;
  readonly #container: string;
  readonly #createContainer: boolean;

  constructor(rest: BlobRest, locks: BlobLocks, container: string, createContainer: boolean) {
    this.#rest = rest;
    this.#locks = locks;
    this.#container = container;
    this.#createContainer = createContainer;
  }

  /** Get Blob: content and metadata in one answer. */
  async read(key: string, signal: AbortSignal | undefined): Promise<StoredValue> {
    const blob = this.#locks.blobFor(key);
    const answer = await this.#rest.send({ method: "GET", path: this.#path(blob), signal, what: `read ${blob}` });
    // A container the adapter would create on its first lock holds no value yet, as for the lock records.
    const missing = answer.code === "BlobNotFound" || (answer.code === "ContainerNotFound" && this.#createContainer);
    if (answer.status === 404 && missing) return { json: undefined, version: 0, fence: 0 };
    if (!isSuccess(answer)) throw answerError(answer, `read the value of ${blob}`, false);
    const record = readRecord(answer.headers);
    return {
      json: answer.text === "" ? undefined : answer.text,
      version: record.valueVersion ?? 0,
      fence: record.valueFence ?? 0,
    };
  }

  async write(request: AdapterWriteRequest): Promise<AdapterWriteResult> {
    const blob = this.#locks.blobFor(request.key);
    const leaseId = await leaseIdFor(request.token);
    const holder = await holderTag(leaseId);
    let fresh = false;
    for (let round = 0; round < ROUNDS; round++) {
      let current: Known | undefined = this.#locks.records.known(blob);
      if (!current || fresh) {
        current = await this.#locks.records.read(blob, request.signal);
        fresh = true;
        if (!current) return { ok: false, reason: "not_held" };
      }
      const { record } = current;
      if (record.writeId === request.writeId) return applied(record);
      const version = record.valueVersion ?? 0;
      const mismatch = request.expectedVersion !== undefined && request.expectedVersion !== version;
      if (record.holder !== holder || mismatch) {
        // Answer from what Azure said just now, never from a stale memory.
        if (!fresh) {
          fresh = true;
          continue;
        }
        return record.holder !== holder
          ? { ok: false, reason: "not_held" }
          : { ok: false, reason: "version_mismatch", version };
      }
      const next: LockRecord = {
        ...record,
        valueVersion: version + 1,
        valueFence: record.fence,
        writeId: request.writeId,
      };
      const written = await this.#put(blob, request.json, next, leaseId, current.etag, request.signal);
      if (isSuccess(written)) {
        const etag = written.headers.get("etag");
        if (etag) this.#locks.records.remember(blob, etag, next);
        return { ok: true, version: next.valueVersion ?? 0, fence: record.fence };
      }
      this.#locks.records.forget(blob);
      fresh = true;
      // Another write of this lease got there first: read again and decide.
      if (written.status === 412 && written.code === "ConditionNotMet") continue;
      if ((written.status === 412 && isLeaseMismatch(written.code)) || written.code === "BlobNotFound") {
        // Not held now; but an earlier attempt of this very write may have landed.
        const after = await this.#locks.records.read(blob, request.signal);
        if (after?.record.writeId === request.writeId) return applied(after.record);
        return { ok: false, reason: "not_held" };
      }
      throw answerError(written, `write the value of ${blob}`, true);
    }
    throw new BackendError(`the value of ${blob} kept changing under the lease`, { maybeApplied: true });
  }

  async #put(
    blob: string,
    json: string | null,
    record: LockRecord,
    leaseId: string,
    etag: string,
    signal: AbortSignal | undefined,
  ) {
    try {
      return await this.#rest.send({
        method: "PUT",
        path: this.#path(blob),
        headers: {
          ...recordHeaders(record),
          "x-ms-blob-type": "BlockBlob",
          "x-ms-lease-id": leaseId,
          "content-type": "application/json",
          "if-match": etag,
        },
        body: encoder.encode(json ?? ""),
        signal,
        what: `write the value of ${blob}`,
      });
    } catch (error) {
      // It may have landed: what this instance remembers may be stale now.
      this.#locks.records.forget(blob);
      throw error;
    }
  }

  #path(blob: string): string {
    return `${this.#container}/${blob}`;
  }
}

function applied(record: LockRecord): AdapterWriteResult {
  return { ok: true, version: record.valueVersion ?? 0, fence: record.valueFence ?? 0 };
}
