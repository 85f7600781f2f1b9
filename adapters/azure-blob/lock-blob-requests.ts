/**
 * The Blob service requests a lock makes on its blob: lease acquire and
 * release, the metadata write, the properties read, and creating the blob
 * (and container) on first use. What the answers mean for the lock is the
 * caller's concern, except where a request's own retry depends on it.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";
import { type LockRecord, readRecord, recordHeaders } from "./lock-metadata.js";
import { answerError, type BlobAnswer, type BlobRest, serverNow } from "./rest.js";

/** Rounds of create-and-retry or re-read before giving up on an operation. */
export const ROUNDS = 4;

/** What Get Blob Properties tells about a lock blob. */
export interface LockBlobProperties {
  readonly etag: string;
  readonly record: LockRecord;
  readonly leased: boolean;
  /** The service's clock at the answer. */
  readonly now: number;
}

/** Sends the lock's requests on the blobs of one container. */
export class LockBlobRequests {
  readonly #rest: BlobRest;
  readonly #container: string;
  readonly #createContainer: boolean;

  constructor(rest: BlobRest, container: string, createContainer: boolean) {
    this.#rest = rest;
    this.#container = container;
    this.#createContainer = createContainer;
  }

  /** Set Blob Metadata under the lease (and on the ETag, if given). */
  writeRecord(
    blob: string,
    record: LockRecord,
    leaseId: string,
    ifMatch: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<BlobAnswer> {
    return this.#rest.send({
      method: "PUT",
      path: this.#path(blob),
      query: { comp: "metadata" },
      headers: {
        ...recordHeaders(record),
        "x-ms-lease-id": leaseId,
        ...(ifMatch === undefined ? {} : { "if-match": ifMatch }),
      },
      signal,
      what: `write the lock record of ${blob}`,
    });
  }

  /** Lease acquire with a proposed id; creates the blob (and container, if allowed) on first use. */
  async takeLease(
    blob: string,
    leaseId: string,
    seconds: number,
    ifMatch: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<BlobAnswer> {
    for (let round = 0; ; round++) {
      const answer = await this.#rest.send({
        method: "PUT",
        path: this.#path(blob),
        query: { comp: "lease" },
        headers: {
          "x-ms-lease-action": "acquire",
          "x-ms-lease-duration": String(seconds),
          "x-ms-proposed-lease-id": leaseId,
          ...(ifMatch === undefined ? {} : { "if-match": ifMatch }),
        },
        signal,
        what: `acquire lease on ${blob}`,
      });
      if (answer.status !== 404 || ifMatch !== undefined || round >= ROUNDS) return answer;
      if (answer.code === "BlobNotFound") await this.#createBlob(blob, signal);
      else if (answer.code === "ContainerNotFound" && this.#createContainer) await this.#createContainerNow(signal);
      else return answer;
    }
  }

  releaseLease(blob: string, leaseId: string, signal: AbortSignal | undefined): Promise<BlobAnswer> {
    return this.#rest.send({
      method: "PUT",
      path: this.#path(blob),
      query: { comp: "lease" },
      headers: { "x-ms-lease-action": "release", "x-ms-lease-id": leaseId },
      signal,
      what: `release the lease on ${blob}`,
    });
  }

  /** Break the lease at once (break period 0), only if the blob still has ETag `ifMatch`. */
  breakLease(blob: string, ifMatch: string, signal: AbortSignal | undefined): Promise<BlobAnswer> {
    return this.#rest.send({
      method: "PUT",
      path: this.#path(blob),
      query: { comp: "lease" },
      headers: { "x-ms-lease-action": "break", "x-ms-lease-break-period": "0", "if-match": ifMatch },
      signal,
      what: `break the lease on ${blob}`,
    });
  }

  /** Get Blob Properties: metadata, ETag and lease state; `undefined` if there is no blob. */
  async readProperties(blob: string, signal: AbortSignal | undefined): Promise<LockBlobProperties | undefined> {
    const answer = await this.#rest.send({
      method: "HEAD",
      path: this.#path(blob),
      signal,
      what: `read lock blob ${blob}`,
    });
    if (answer.status === 404 && answer.code !== "ContainerNotFound") return undefined;
    if (answer.status === 404 && this.#createContainer) return undefined;
    if (!isSuccess(answer)) throw answerError(answer, `read lock blob ${blob}`, false);
    const etag = answer.headers.get("etag");
    if (!etag) {
      throw new BackendError(`the properties of ${blob} carry no ETag`, { maybeApplied: false, retryable: false });
    }
    const record = readRecord(answer.headers);
    // "breaking" still holds the lease until its break period ends.
    const state = answer.headers.get("x-ms-lease-state");
    return { etag, record, leased: state === "leased" || state === "breaking", now: serverNow(answer) };
  }

  #path(blob: string): string {
    return `${this.#container}/${blob}`;
  }

  /** Create the empty lock blob unless it exists (`If-None-Match: *`: racing creators are fine). */
  async #createBlob(blob: string, signal: AbortSignal | undefined): Promise<void> {
    const answer = await this.#rest.send({
      method: "PUT",
      path: this.#path(blob),
      headers: { "x-ms-blob-type": "BlockBlob", "if-none-match": "*" },
      signal,
      what: `create lock blob ${blob}`,
    });
    if (isSuccess(answer) || answer.status === 409 || answer.status === 412) return;
    if (answer.code === "ContainerNotFound" && this.#createContainer) return this.#createContainerNow(signal);
    throw answerError(answer, `create lock blob ${blob}`, true);
  }

  async #createContainerNow(signal: AbortSignal | undefined): Promise<void> {
    const answer = await this.#rest.send({
      method: "PUT",
      path: this.#container,
      query: { restype: "container" },
      signal,
      what: `create container ${this.#container}`,
    });
    if (isSuccess(answer) || (answer.status === 409 && answer.code === "ContainerAlreadyExists")) return;
    throw answerError(answer, `create container ${this.#container}`, true);
  }
}

export function isSuccess(answer: BlobAnswer): boolean {
  return answer.status >= 200 && answer.status < 300;
}

/** Acquire refused because another lease is active (or being broken). */
export function isLeasedByOther(code: string | undefined): boolean {
  return code === "LeaseAlreadyPresent" || code === "LeaseIsBreakingAndCannotBeAcquired";
}

export function isLeaseMismatch(code: string | undefined): boolean {
  return (
    code === "LeaseIdMismatchWithLeaseOperation" ||
    code === "LeaseNotPresentWithLeaseOperation" ||
    code === "LeaseIdMismatchWithBlobOperation" ||
    code === "LeaseNotPresentWithBlobOperation" ||
    code === "LeaseLost"
  );
}
