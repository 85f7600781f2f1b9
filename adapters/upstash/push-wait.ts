import type { AdapterAcquireResult, SemaphoreAcquireResult } from "../../src/types.js";
import type { WakeBlocks } from "./wake-blocks.js";

/**
 * How long a release's wake-up token lives: long enough for a waiter whose
 * refusal is still on its way back to reach its `BLPOP`, short enough that
 * a token nobody took never lingers.
 */
export const WAKE_TTL_MS = 1_000;

/** Below this, blocking is not worth a request: answer with the refusal. */
const MIN_BLOCK_MS = 5;

/**
 * Wait for a lock or a permit by push: attempt, and on a refusal block in
 * `BLPOP` on the key's wake-up list until a release pushes a token, then attempt again, all
 * within `waitMs`. Each block is capped by the holder's remaining time
 * (`retryAfterMs`), so a holder that dies without releasing is noticed at
 * its expiry; a lost or stolen wake-up therefore costs latency, never
 * safety: only the attempt, an atomic script, ever grants. With no waiting
 * slot free, or when the `BLPOP` fails (`wake-blocks.ts`), the refusal is
 * the answer, and the lock client polls.
 *
 * `waitedMs` on a grant is the time from the call's start to the sending
 * of the attempt that was granted, on this client's clock: the grant's TTL
 * counts from no earlier than that send.
 */
export async function acquireWaiting<R extends AdapterAcquireResult | SemaphoreAcquireResult>(
  attempt: () => Promise<R>,
  blocks: WakeBlocks,
  wakeKey: string,
  waitMs: number,
  signal: AbortSignal | undefined,
): Promise<R> {
  const started = Date.now();
  for (;;) {
    const sentAt = Date.now();
    const result = await attempt();
    if (result.ok) return { ...result, waitedMs: sentAt - started };
    // Only a held lock or a full semaphore is worth waiting for (not a limit mismatch).
    if (result.reason !== "held") return result;
    const remaining = started + waitMs - Date.now();
    const block = Math.min(remaining, result.retryAfterMs ?? remaining);
    if (remaining < MIN_BLOCK_MS) return result;
    if (!(await blocks.wait(wakeKey, Math.max(block, MIN_BLOCK_MS), started, signal))) return result;
  }
}
