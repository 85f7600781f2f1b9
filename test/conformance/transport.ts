import type { LockAdapter } from "../../src/types.js";
import { wrapSemaphores } from "./semaphore-wire.js";

/**
 * The conformance suite's view of the wire: counts requests and injects the
 * faults a real network produces, while every request still reaches the real
 * backend.
 *
 * - a *lost response*: the request is delivered and applied, then the caller
 *   sees a network error instead of the answer;
 * - a *late response*: the answer arrives after the caller's timeout.
 */
export class Transport {
  /** Requests sent (fetch mode) or adapter calls made (adapter mode). */
  requests = 0;
  /** Faults actually injected: tests assert on it, so a fault that never fired fails. */
  injected = 0;
  #lose = 0;
  #delayMs = 0;
  #delayCount = 0;

  /** Disarm any fault a finished case left armed, so it cannot leak into the next one. */
  reset(): void {
    this.#lose = 0;
    this.#delayCount = 0;
  }

  /** Lose the answers of the next `n` requests. */
  loseNext(n = 1): void {
    this.#lose = n;
  }

  /** Hold back the answers of the next `n` requests by `ms`. */
  delayNext(ms: number, n = 1): void {
    this.#delayMs = ms;
    this.#delayCount = n;
  }

  /** A `fetch` to hand to an adapter. */
  readonly fetch: typeof fetch = async (input, init) => {
    const response = await this.#deliver(() => globalThis.fetch(input, init), init?.signal ?? undefined);
    return response;
  };

  /**
   * For adapters that do not speak `fetch` to their backend (in-process, or
   * RPC to a Durable Object): count and fault at the adapter boundary.
   */
  wrap(adapter: LockAdapter): LockAdapter {
    const through = <T>(operation: () => Promise<T>, signal?: AbortSignal) => this.#deliver(operation, signal);
    return {
      capabilities: adapter.capabilities,
      acquire: (request) => through(() => adapter.acquire(request), request.signal),
      extend: (request) => through(() => adapter.extend(request), request.signal),
      release: (request) => through(() => adapter.release(request), request.signal),
      inspect: (key, options) => through(() => adapter.inspect(key, options), options?.signal),
      ...wrapSemaphores(adapter.semaphores, through),
      ...(adapter.dispose ? { dispose: () => adapter.dispose?.() ?? Promise.resolve() } : {}),
    };
  }

  async #deliver<T>(send: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    this.requests++;
    const answer = await send();
    if (answer instanceof Response) {
      // Let the whole answer arrive, so the backend is done with the request.
      await answer.clone().arrayBuffer();
    }
    if (this.#lose > 0) {
      this.#lose--;
      this.injected++;
      throw new TypeError("fetch failed (injected: response lost after the request was applied)");
    }
    if (this.#delayCount > 0) {
      this.#delayCount--;
      this.injected++;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.#delayMs);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
    }
    return answer;
  }
}
