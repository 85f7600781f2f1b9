import { untilAborted } from "../../src/internal/abandon.js";
import type { LockAdapter } from "../../src/types.js";
import { percentile, sleep } from "../support/timing.js";
import { wrapSemaphores } from "./semaphore-wire.js";

/**
 * One adapter instance's view of the wire: counts the backend requests it
 * really sends and injects the faults a real network produces, while every
 * request still reaches the real backend. Each instance the suite builds gets
 * its own, as each process of a deployment has its own network path.
 *
 * - a *lost response*: the request is delivered and applied, then the caller
 *   sees a network error instead of the answer;
 * - a *late response*: the answer arrives after the caller's timeout;
 * - a *late delivery*: the request reaches the backend only after a delay,
 *   and a caller that gives up meanwhile cannot recall it (a request sitting
 *   in a proxy or a queue): it is applied all the same.
 */
export interface Wire {
  /** A `fetch` to hand to an adapter that speaks HTTP: each call is one request. */
  readonly fetch: typeof fetch;
  /**
   * Send one backend request that is not a `fetch` of the adapter's own (an
   * RPC call on a Durable Object stub, a user client's `fetch`): counted and
   * faulted like a `fetch`. `held` is true when the request is delivered
   * late (see {@link Transport.holdNext}): send it without the caller's
   * signal then, as a request already on its way no longer hears it.
   */
  request<T>(send: (held: boolean) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * For an adapter with no wire at all (in-process): faults are injected at
   * the adapter boundary, and nothing is counted, because nothing is sent.
   */
  inProcess(adapter: LockAdapter): LockAdapter;
}

export class Transport implements Wire {
  /** Backend requests sent through this wire. */
  requests = 0;
  /** Faults actually injected: tests assert on it, so a fault that never fired fails. */
  injected = 0;
  #durations: number[] = [];
  #lose = 0;
  #delayMs = 0;
  #delayCount = 0;
  #holdMs = 0;
  #holdCount = 0;
  #held: Promise<unknown>[] = [];

  /** Disarm any fault a finished case left armed, so it cannot leak into the next one. */
  reset(): void {
    this.#lose = 0;
    this.#delayCount = 0;
    this.#holdCount = 0;
    this.#held = [];
  }

  /**
   * How long a slow request of this wire took, ms (the 95th percentile of all
   * so far; a waiting acquire held open in the backend is one of the few
   * above it): cases derive timing bounds from what the run measured rather
   * than assume an idle machine.
   */
  slowMs(): number {
    return this.#durations.length === 0 ? 0 : percentile(this.#durations, 95);
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

  /**
   * Deliver the next `n` requests to the backend only after `ms`. The caller
   * can abort its wait for the answer, not the request.
   */
  holdNext(ms: number, n = 1): void {
    this.#holdMs = ms;
    this.#holdCount = n;
  }

  /** Resolves once every held request has reached the backend and been answered; rejects if one failed. */
  async heldDelivered(): Promise<void> {
    await Promise.all(this.#held);
  }

  readonly fetch: typeof fetch = (input, init) => {
    this.requests++;
    const send = (held: boolean) => globalThis.fetch(input, held ? { ...init, signal: null } : init);
    return this.#deliver(send, init?.signal ?? undefined, streamed(input));
  };

  request<T>(send: (held: boolean) => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.requests++;
    return this.#deliver(send, signal, false);
  }

  inProcess(adapter: LockAdapter): LockAdapter {
    const through = <T>(operation: () => Promise<T>, signal?: AbortSignal) => this.#deliver(operation, signal, false);
    return {
      capabilities: adapter.capabilities,
      acquire: (request) => through(() => adapter.acquire(request), request.signal),
      extend: (request) => through(() => adapter.extend(request), request.signal),
      release: (request) => through(() => adapter.release(request), request.signal),
      inspect: (key, options) => through(() => adapter.inspect(key, options), options?.signal),
      ...(adapter.forceRelease
        ? {
            forceRelease: (request) =>
              through(() => adapter.forceRelease?.(request) ?? Promise.reject(), request.signal),
          }
        : {}),
      ...guardedMethods(adapter, through),
      ...wrapSemaphores(adapter.semaphores, through),
      ...(adapter.dispose ? { dispose: () => adapter.dispose?.() ?? Promise.resolve() } : {}),
    };
  }

  async #deliver<T>(send: (held: boolean) => Promise<T>, signal: AbortSignal | undefined, stream: boolean): Promise<T> {
    // A wake-up stream applies nothing: faults meant for the next request are kept for it.
    if (stream) return send(false);
    const started = performance.now();
    const answer = await (this.#holdCount > 0 ? this.#holdBack(send, signal) : send(false));
    if (answer instanceof Response && !stream) {
      // Let the whole answer arrive, so the backend is done with the request.
      await answer.clone().arrayBuffer();
    }
    this.#durations.push(performance.now() - started);
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

  #holdBack<T>(send: (held: boolean) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    this.#holdCount--;
    this.injected++;
    const delivered = sleep(this.#holdMs).then(() => send(true));
    this.#held.push(delivered);
    delivered.catch(() => {});
    return untilAborted(delivered, signal, (reason) => reason);
  }
}

/** The optional guarded-value methods, through the same boundary. */
function guardedMethods(
  adapter: LockAdapter,
  through: <T>(operation: () => Promise<T>, signal?: AbortSignal) => Promise<T>,
): Pick<LockAdapter, "readValue" | "writeValue"> {
  const { readValue, writeValue } = adapter;
  if (!readValue || !writeValue) return {};
  return {
    readValue: (key, options) => through(() => readValue.call(adapter, key, options), options?.signal),
    writeValue: (request) => through(() => writeValue.call(adapter, request), request.signal),
  };
}

/**
 * An answer that streams for as long as the request lasts (etcd's watch):
 * waiting for its end before handing it over would turn every wake-up into
 * a timeout, so it is handed over as it comes, counted but not faulted.
 */
function streamed(input: RequestInfo | URL): boolean {
  const url = input instanceof Request ? input.url : String(input);
  return new URL(url).pathname.endsWith("/v3/watch");
}
