/**
 * The blobs of one semaphore key and the requests that only semaphores make:
 * listing the key's blobs in one request (lease state and metadata of every
 * slot and of the meta blob), and the meta blob's conditional writes.
 *
 * Layout, under the key's lock-blob name `<lock>` (a lock blob's name has no
 * `/` after the prefix, so these never collide with a lock):
 * - `<lock>/sem/<i>`, `i < limit`: a slot; its lease is a permit, its
 *   metadata the permit's record (as a lock record: fence, holder, expiry, owner);
 * - `<lock>/sem/meta`: the key's fence counter and the limit it was last granted under.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";
import { type LockRecord, readRecord } from "./lock-metadata.js";
import { answerError, type BlobAnswer, type BlobRest, serverNow } from "./rest.js";

const META_FENCE = "x-ms-meta-edgelockfence";
const META_LIMIT = "x-ms-meta-edgelocklimit";

/** The meta blob as of an ETag. */
export interface SemaphoreMeta {
  readonly etag: string;
  readonly fence: number;
  readonly limit: number;
}

/** One slot blob as listed. */
export interface SlotView {
  readonly index: number;
  readonly etag: string;
  readonly leased: boolean;
  readonly record: LockRecord;
}

/** Everything the listing shows about a key. */
export interface SemaphoreListing {
  /** `undefined` before the key's first grant. */
  readonly meta: SemaphoreMeta | undefined;
  readonly slots: ReadonlyMap<number, SlotView>;
  /** The service's clock at the answer. */
  readonly now: number;
}

export class SemaphoreBlobs {
  readonly #rest: BlobRest;
  readonly #container: string;

  constructor(rest: BlobRest, container: string) {
    this.#rest = rest;
    this.#container = container;
  }

  /** The directory of `lockBlob`'s semaphore blobs (with the trailing `/`). */
  static base(lockBlob: string): string {
    return `${lockBlob}/sem/`;
  }

  /** List Blobs with metadata under the key's directory: one request, every slot and the meta blob. */
  async list(base: string, signal: AbortSignal | undefined): Promise<SemaphoreListing> {
    const what = `list the semaphore blobs under ${base}`;
    const answer = await this.#rest.send({
      method: "GET",
      path: this.#container,
      query: { restype: "container", comp: "list", prefix: base, include: "metadata" },
      signal,
      what,
    });
    const now = serverNow(answer);
    // No container: no grant yet (the lease request then creates it, or says it is missing).
    if (answer.status === 404 && answer.code === "ContainerNotFound") return { meta: undefined, slots: new Map(), now };
    if (answer.status < 200 || answer.status >= 300) throw answerError(answer, what, false);
    let meta: SemaphoreMeta | undefined;
    const slots = new Map<number, SlotView>();
    for (const match of answer.text.matchAll(/<Blob>([\s\S]*?)<\/Blob>/g)) {
      const body = match[1] ?? "";
      const name = unescapeXml(field(body, "Name") ?? "");
      const rest = name.startsWith(base) ? name.slice(base.length) : undefined;
      const headers = metadataHeaders(field(body, "Metadata") ?? "");
      const etag = quoted(field(body, "Etag") ?? "");
      if (rest === "meta") {
        meta = readMeta(headers, etag);
      } else if (rest !== undefined && /^(0|[1-9]\d{0,3})$/.test(rest)) {
        const state = field(body, "LeaseState");
        slots.set(Number(rest), {
          index: Number(rest),
          etag,
          // "breaking" still holds the lease until its break period ends.
          leased: state === "leased" || state === "breaking",
          record: readRecord(headers),
        });
      }
    }
    return { meta, slots, now };
  }

  /** Get Blob Properties of the meta blob; `undefined` if it does not exist. */
  async readMeta(base: string, signal: AbortSignal | undefined): Promise<SemaphoreMeta | undefined> {
    const what = `read semaphore meta blob ${base}meta`;
    const answer = await this.#rest.send({ method: "HEAD", path: this.#metaPath(base), signal, what });
    if (answer.status === 404) return undefined;
    if (answer.status < 200 || answer.status >= 300) throw answerError(answer, what, false);
    return readMeta(answer.headers, answer.headers.get("etag") ?? "");
  }

  /**
   * Replace the meta blob's fence and limit if it still has ETag `ifMatch`
   * (`undefined`: create it, only if it does not exist yet). The new ETag on
   * success; `undefined` when the condition failed (someone wrote first).
   */
  async writeMeta(
    base: string,
    next: { fence: number; limit: number },
    ifMatch: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const what = `bump the fence of semaphore ${base}`;
    const headers = { [META_FENCE]: String(next.fence), [META_LIMIT]: String(next.limit) };
    const answer: BlobAnswer =
      ifMatch === undefined
        ? await this.#rest.send({
            method: "PUT",
            path: this.#metaPath(base),
            headers: { ...headers, "x-ms-blob-type": "BlockBlob", "if-none-match": "*" },
            signal,
            what,
          })
        : await this.#rest.send({
            method: "PUT",
            path: this.#metaPath(base),
            query: { comp: "metadata" },
            headers: { ...headers, "if-match": ifMatch },
            signal,
            what,
          });
    if (answer.status >= 200 && answer.status < 300) return answer.headers.get("etag") ?? "";
    if (answer.status === 412 || (answer.status === 409 && answer.code === "BlobAlreadyExists")) return undefined;
    if (answer.status === 404 && answer.code === "BlobNotFound") return undefined;
    throw answerError(answer, what, true);
  }

  #metaPath(base: string): string {
    return `${this.#container}/${base}meta`;
  }
}

function readMeta(headers: Headers, etag: string): SemaphoreMeta {
  const fence = Number(headers.get(META_FENCE) ?? "0");
  const limit = Number(headers.get(META_LIMIT) ?? "0");
  if (!Number.isSafeInteger(fence) || fence < 0 || !Number.isSafeInteger(limit) || limit < 0 || !etag) {
    // Never guess a fence: a wrong one could go backwards.
    throw new BackendError("the semaphore meta blob's metadata is unreadable", {
      maybeApplied: false,
      retryable: false,
    });
  }
  return { etag, fence, limit };
}

/** The `<Metadata>` elements of a listed blob as the `x-ms-meta-*` headers a HEAD would show. */
function metadataHeaders(xml: string): Headers {
  const headers = new Headers();
  for (const match of xml.matchAll(/<([A-Za-z0-9_]+)>([^<]*)<\/\1>/g)) {
    headers.set(`x-ms-meta-${(match[1] ?? "").toLowerCase()}`, unescapeXml(match[2] ?? ""));
  }
  return headers;
}

function field(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
}

/** Listings give ETags bare; conditional headers want them quoted, as HEAD answers them. */
function quoted(etag: string): string {
  return etag === "" || etag.startsWith('"') ? etag : `"${etag}"`;
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}
