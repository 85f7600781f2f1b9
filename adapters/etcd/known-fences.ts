/**
 * The fence each token was granted, as this adapter instance saw it: a
 * guarded write names the holder's fence in its compare (etcd cannot copy
 * the lock key's create revision into another key), so the holder that
 * acquired through this instance writes in one request. A token it never saw
 * costs one more: the refused transaction reads the fence back.
 *
 * @module
 */

/** Most tokens remembered per adapter; beyond it the oldest are forgotten (their next write reads the fence again). */
const LIMIT = 4096;

export class KnownFences {
  readonly #byToken = new Map<string, number>();

  /** The fence `token` was last seen holding, or 0 (no lock key has create revision 0). */
  get(token: string): number {
    return this.#byToken.get(token) ?? 0;
  }

  set(token: string, fence: number): void {
    this.#byToken.delete(token);
    if (this.#byToken.size >= LIMIT) {
      const oldest = this.#byToken.keys().next();
      if (!oldest.done) this.#byToken.delete(oldest.value);
    }
    this.#byToken.set(token, fence);
  }

  forget(token: string): void {
    this.#byToken.delete(token);
  }
}
