import { LockAbortedError } from "../../src/errors.js";
import type { LockObjectStub } from "./protocol.js";
import { rpc } from "./rpc.js";

/**
 * Run a call that waits in the object's queue, withdrawn when `signal`
 * aborts. On Workers the wait's fetch carries the signal into the object;
 * the cancel call covers runtimes where it does not (Miniflare's Node
 * proxy), on the same stub so that the object sees it after the wait.
 * Locks and semaphores queue alike.
 *
 * @module
 */

/** `wait()`, or `LockAbortedError` once `signal` aborts; the cancel call has settled either way. */
export async function withdrawable<T>(
  object: Pick<LockObjectStub, "cancel">,
  token: string,
  signal: AbortSignal,
  wait: () => Promise<T>,
): Promise<T> {
  let cancelling: Promise<unknown> | undefined;
  const onAbort = () => {
    cancelling = rpc("cancel", () => object.cancel({ token }));
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await wait();
  } catch (error) {
    if (signal.aborted) throw new LockAbortedError("acquire withdrawn from the queue", { cause: signal.reason });
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
    // A failed cancel surfaces here rather than as an unhandled rejection.
    if (cancelling) await cancelling;
  }
}
