/**
 * The permits a semaphore listing shows. A leased slot is not always a
 * permit: an acquire leases its slot before it writes the record, and a
 * release clears the record before it frees the lease; the record's holder
 * and expiry decide.
 *
 * @module
 */
import type { SemaphoreState } from "../../src/types.js";
import { MAX_LEASE_SECONDS } from "./lease-seconds.js";
import type { SemaphoreListing, SlotView } from "./semaphore-blobs.js";

/** As for locks (blob-locks.ts): a recorded grant this close to its expiry may have ended; it is not reused. */
const RETRY_MARGIN_MS = 2_000;

/** The slot whose record names `holder` with a grant that surely has not ended (an acquire's retry reuses it). */
export function ownGrant(listing: SemaphoreListing, holder: string): SlotView | undefined {
  return [...listing.slots.values()].find(
    (view) =>
      view.leased && view.record.holder === holder && (view.record.expiresAt ?? 0) > listing.now + RETRY_MARGIN_MS,
  );
}

/** Leased slots whose record names a grant that has not surely ended (a slot mid-acquire has none yet). */
function live(listing: SemaphoreListing) {
  return [...listing.slots.values()].filter(
    (view) =>
      view.leased &&
      view.record.holder !== undefined &&
      (view.record.expiresAt === undefined || view.record.expiresAt + RETRY_MARGIN_MS > listing.now),
  );
}

/** A refused acquire's hint: until the first live permit ends. */
export function retryAfter(listing: SemaphoreListing): number | undefined {
  const ends = live(listing).map((view) => view.record.expiresAt ?? listing.now + MAX_LEASE_SECONDS * 1000);
  return ends.length > 0 ? Math.max(1, Math.min(...ends) - listing.now) : undefined;
}

export function semaphoreState(listing: SemaphoreListing): SemaphoreState {
  const permits = live(listing)
    .map(({ record }) => {
      const expiresAt = record.expiresAt ?? listing.now + MAX_LEASE_SECONDS * 1000;
      return record.owner === undefined
        ? { fence: record.fence, expiresAt }
        : { fence: record.fence, expiresAt, owner: record.owner };
    })
    .sort((a, b) => a.fence - b.fence);
  return { limit: permits.length > 0 ? (listing.meta?.limit ?? null) : null, permits };
}
