/**
 * A semaphore grant's fence: the key's meta blob counts grants and records
 * the limit they were made under, written with `If-Match` so that two grants
 * never share a fence. Layout in `semaphore-blobs.ts`.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";
import type { SemaphoreBlobs, SemaphoreMeta } from "./semaphore-blobs.js";

/** Meta writes one grant tries before giving up (each refused one is another grant's success). */
const META_ROUNDS = 16;

/**
 * Bump the fence on the meta blob, which also fixes the limit. Switching
 * the limit needs every other slot free, observed after the meta version
 * the switch is conditioned on, so that a grant under the old limit either
 * shows up as a lease or fails its own bump on the changed meta.
 */
export async function bumpFence(
  blobs: SemaphoreBlobs,
  base: string,
  slot: number,
  limit: number,
  listed: SemaphoreMeta | undefined,
  signal: AbortSignal | undefined,
): Promise<{ fence: number } | { mismatch: number }> {
  let meta = listed;
  let fresh = listed === undefined;
  for (let round = 0; round < META_ROUNDS; round++) {
    if (meta && meta.limit !== limit) {
      if (!fresh) meta = await blobs.readMeta(base, signal);
      if (meta && meta.limit !== limit) {
        const listing = await blobs.list(base, signal);
        const others = [...listing.slots.values()].some((view) => view.leased && view.index !== slot);
        if (others) return { mismatch: meta.limit };
      }
    }
    const fence = (meta?.fence ?? 0) + 1;
    if (!Number.isSafeInteger(fence)) {
      throw new BackendError(`fence of semaphore ${base} exhausted the safe integers`, {
        maybeApplied: false,
        retryable: false,
      });
    }
    const etag = await blobs.writeMeta(base, { fence, limit }, meta?.etag, signal);
    if (etag !== undefined) return { fence };
    meta = await blobs.readMeta(base, signal);
    fresh = true;
  }
  throw new BackendError(`the meta blob of semaphore ${base} kept changing`, { maybeApplied: true });
}
