/**
 * The lock's record in the blob's metadata: the fence counter and what
 * `inspect` shows. Written only under the lease, with `If-Match`, so it
 * changes once per grant.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";

export interface LockRecord {
  /** Fence of the latest grant; 0 before the first. */
  readonly fence: number;
  /** {@link holderTag} of the lease id of the latest grant. */
  readonly holder: string | undefined;
  /** TTL of the latest grant, ms. */
  readonly ttlMs: number | undefined;
  /** Expiry of the latest grant, epoch ms on the service's clock. */
  readonly expiresAt: number | undefined;
  readonly owner: string | undefined;
  /** When the latest grant was made, epoch ms on the service's clock (for the wait schedule). */
  readonly acquiredAt?: number | undefined;
  /** When the latest release was made, epoch ms on the service's clock. */
  readonly releasedAt?: number | undefined;
  /** How long the latest released holder kept the lock, ms. */
  readonly heldMs?: number | undefined;
  /** Guarded value: version of its last write or deletion (0 or absent before the first). */
  readonly valueVersion?: number | undefined;
  /** Guarded value: fence of the holder that wrote it. */
  readonly valueFence?: number | undefined;
  /** Guarded value: id of its last write. */
  readonly writeId?: string | undefined;
}

const PREFIX = "x-ms-meta-";
const FIELDS = {
  fence: "edgelockfence",
  holder: "edgelockholder",
  ttlMs: "edgelockttl",
  expiresAt: "edgelockexpires",
  owner: "edgelockowner",
  acquiredAt: "edgelockacquired",
  releasedAt: "edgelockreleased",
  heldMs: "edgelockheld",
  valueVersion: "edgelockversion",
  valueFence: "edgelockvaluefence",
  writeId: "edgelockwrite",
} as const;

/** Request headers that replace the blob's metadata with `record`. */
export function recordHeaders(record: LockRecord): Record<string, string> {
  const headers: Record<string, string> = { [PREFIX + FIELDS.fence]: String(record.fence) };
  if (record.holder !== undefined) headers[PREFIX + FIELDS.holder] = record.holder;
  if (record.ttlMs !== undefined) headers[PREFIX + FIELDS.ttlMs] = String(record.ttlMs);
  if (record.expiresAt !== undefined) headers[PREFIX + FIELDS.expiresAt] = String(record.expiresAt);
  // Metadata values are ASCII header values; the owner is any Unicode.
  if (record.owner !== undefined) headers[PREFIX + FIELDS.owner] = encodeURIComponent(record.owner);
  for (const field of ["acquiredAt", "releasedAt", "heldMs"] as const) {
    const value = record[field];
    if (value !== undefined) headers[PREFIX + FIELDS[field]] = String(value);
  }
  if (record.valueVersion !== undefined) headers[PREFIX + FIELDS.valueVersion] = String(record.valueVersion);
  if (record.valueFence !== undefined) headers[PREFIX + FIELDS.valueFence] = String(record.valueFence);
  if (record.writeId !== undefined) headers[PREFIX + FIELDS.writeId] = record.writeId;
  return headers;
}

/** The record in a Get Blob Properties answer. A blob nobody locked yet reads as fence 0. */
export function readRecord(headers: Headers): LockRecord {
  const get = (field: string) => headers.get(PREFIX + field) ?? undefined;
  const fenceText = get(FIELDS.fence);
  const fence = fenceText === undefined ? 0 : Number(fenceText);
  if (!Number.isSafeInteger(fence) || fence < 0) {
    // Never guess a fence: a wrong one could go backwards.
    throw new BackendError(`the lock blob's fence metadata is unreadable (${JSON.stringify(fenceText)})`, {
      maybeApplied: false,
      retryable: false,
      cause: fenceText,
    });
  }
  const number = (text: string | undefined) => {
    const value = text === undefined ? Number.NaN : Number(text);
    return Number.isSafeInteger(value) ? value : undefined;
  };
  const owner = get(FIELDS.owner);
  let decoded: string | undefined;
  try {
    decoded = owner === undefined ? undefined : decodeURIComponent(owner);
  } catch {
    // Written by something other than edgelock: show it as it is.
    decoded = owner;
  }
  return {
    fence,
    holder: get(FIELDS.holder),
    ttlMs: number(get(FIELDS.ttlMs)),
    expiresAt: number(get(FIELDS.expiresAt)),
    owner: decoded,
    acquiredAt: number(get(FIELDS.acquiredAt)),
    releasedAt: number(get(FIELDS.releasedAt)),
    heldMs: number(get(FIELDS.heldMs)),
    valueVersion: number(get(FIELDS.valueVersion)),
    valueFence: number(get(FIELDS.valueFence)),
    writeId: get(FIELDS.writeId),
  };
}
