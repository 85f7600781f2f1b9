/**
 * A waiting acquire's sleep between two attempts, ended by etcd itself: a
 * watch (`/v3/watch`, one streamed answer read through `fetch`) on the lock
 * key, from the revision after the one the refused attempt read. A deletion
 * in between (a release, a break, or the holder's lease running out, which
 * etcd's leader turns into a delete) is replayed by etcd, so a wake-up is
 * never lost to a race between the refusal and the watch.
 *
 * Many waiters on one key all see the same deletion. To keep them from all
 * trying at once, each one waits a short random spread after the deletion and
 * goes back to sleep, without a request, if the watch shows the key created
 * again meanwhile (another waiter got it). A wake-up that the spread or a
 * failed watch loses costs latency only: the lock client's next attempt
 * decides, and no sleep outlasts its bound.
 *
 * @module
 */
import { abortError, sleep } from "../../src/timing.js";
import type { AdapterPollWaitRequest } from "../../src/types.js";
import { base64 } from "./encoding.js";
import type { EtcdGateway } from "./gateway.js";

/**
 * Longest one watch is kept open (unless the lock client's own backoff would
 * have slept longer): a stream that silently stalls delays a waiter by at
 * most this, and a long hold costs one watch and one refused attempt per period.
 */
export const WATCH_MAX_MS = 5_000;

/** Upper end of the random spread between seeing a deletion and trying. */
export const WAKE_SPREAD_MS = 30;

/**
 * How soon etcd must confirm a watch (its first line, `created`) before the
 * sleep gives up on it and falls back to the lock client's backoff.
 */
export const CREATED_WITHIN_MS = 2_000;

/**
 * Most refusals remembered per adapter (every refusal is, a `tryAcquire`'s
 * too, as the adapter cannot tell whether a wait follows); beyond it the
 * oldest are forgotten and their wait sleeps the lock client's backoff.
 */
const LIMIT = 1024;

/** How a watch ended. */
type Ending = "woken" | "failed" | "ended";

interface WatchEvent {
  readonly type?: string;
  readonly kv?: { readonly key?: string; readonly version?: string; readonly value?: string };
}

/**
 * What a sleep watches: one key (a lock), or every key from `key` up to
 * `rangeEnd` (a semaphore's slots, any of which frees a permit). `ownValue`
 * is what a creation by the waiter's own, late attempt carries (the token,
 * or a semaphore slot's holder tag): it ends the sleep at once.
 */
export interface WatchTarget {
  readonly key: string;
  readonly rangeEnd?: string;
  readonly ownValue: string;
}

interface WatchMessage {
  readonly result?: {
    readonly events?: readonly WatchEvent[];
    readonly canceled?: boolean;
    readonly compact_revision?: string;
  };
  readonly error?: unknown;
}

export class WakeWatches {
  readonly #gateway: EtcdGateway;
  readonly #spreadMs: () => number;
  // `token\0watched key` → the revision a refused acquire read.
  readonly #refusedAt = new Map<string, number>();

  /** `spreadMs` draws the delay between a deletion and the attempt it allows (tests fix it). */
  constructor(gateway: EtcdGateway, spreadMs: () => number = () => Math.random() * WAKE_SPREAD_MS) {
    this.#gateway = gateway;
    this.#spreadMs = spreadMs;
  }

  /** Remember that `token`'s acquire of what `key` names was refused at `revision` (the answer's header revision). */
  refused(key: string, token: string, revision: string | undefined): void {
    const at = Number(revision);
    if (!Number.isSafeInteger(at) || at <= 0) return;
    const id = `${token}\u0000${key}`;
    this.#refusedAt.delete(id);
    if (this.#refusedAt.size >= LIMIT) {
      const oldest = this.#refusedAt.keys().next();
      if (!oldest.done) this.#refusedAt.delete(oldest.value);
    }
    this.#refusedAt.set(id, at);
  }

  /**
   * Sleep until a watched key is deleted (and not created again within the
   * spread), the bound passes, or `signal` aborts (`LockAbortedError`). The
   * bound: `remainingMs`, the refusal's `retryAfterMs`, and
   * {@link WATCH_MAX_MS} or `fallbackMs`, whichever is longer. Without a
   * remembered refusal, or when the watch fails, it sleeps `fallbackMs`.
   */
  async wait(target: WatchTarget, request: AdapterPollWaitRequest): Promise<void> {
    const { token, refusal, fallbackMs, remainingMs, signal } = request;
    if (signal?.aborted) throw abortError(signal);
    const id = `${token}\u0000${target.key}`;
    const revision = this.#refusedAt.get(id);
    this.#refusedAt.delete(id);
    const retryAfterMs = refusal.retryAfterMs ?? Number.POSITIVE_INFINITY;
    const boundMs = Math.max(0, Math.min(remainingMs, retryAfterMs, Math.max(fallbackMs, WATCH_MAX_MS)));
    const fallback = Math.min(fallbackMs, boundMs);
    if (boundMs === 0) return;
    if (revision === undefined) return sleep(fallback, signal);
    const started = Date.now();
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), boundMs);
    const onAbort = () => stop.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    let ending: Ending;
    try {
      ending = await this.#watch(target, revision + 1, stop.signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      stop.abort();
    }
    if (signal?.aborted) throw abortError(signal);
    if (ending === "failed") await sleep(fallback - (Date.now() - started), signal);
  }

  async #watch(target: WatchTarget, fromRevision: number, signal: AbortSignal): Promise<Ending> {
    const range = target.rangeEnd === undefined ? {} : { range_end: base64(target.rangeEnd) };
    let body: ReadableStream<Uint8Array>;
    try {
      body = await this.#gateway.stream({
        path: "/v3/watch",
        body: { create_request: { key: base64(target.key), ...range, start_revision: String(fromRevision) } },
        signal,
        what: "watch an etcd lock",
        mutating: false,
      });
    } catch {
      // The next attempt decides; the failure is the sleep's, not the caller's.
      return signal.aborted ? "ended" : "failed";
    }
    const reader = body.getReader();
    const own = base64(target.ownValue);
    // Keys deleted and not created again since: while any is, the spread runs.
    const freed = new Set<string>();
    return new Promise<Ending>((resolve) => {
      let spread: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      // A proxy that buffers the stream would hold every line back: then poll as without a watch.
      const unconfirmed = setTimeout(() => end("failed"), CREATED_WITHIN_MS);
      const end = (ending: Ending) => {
        if (settled) return;
        settled = true;
        clearTimeout(spread);
        clearTimeout(unconfirmed);
        signal.removeEventListener("abort", onAbort);
        reader.cancel().catch(() => undefined);
        resolve(ending);
      };
      const onAbort = () => end("ended");
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
      const onMessage = (message: WatchMessage): void => {
        if (settled) return;
        clearTimeout(unconfirmed);
        if (message.error !== undefined) {
          end(spread === undefined ? "failed" : "woken");
          return;
        }
        if (message.result?.canceled === true) {
          // A compacted start revision: the next attempt decides at once. Any
          // other cancel (a refused auth token, no permission) is a failed watch.
          end(Number(message.result.compact_revision ?? 0) > 0 || spread !== undefined ? "woken" : "failed");
          return;
        }
        for (const event of message.result?.events ?? []) {
          const key = event.kv?.key ?? "";
          if (event.type === "DELETE") {
            freed.add(key);
            spread ??= setTimeout(() => end("woken"), Math.max(0, this.#spreadMs()));
          } else if (event.kv?.version === "1") {
            // Created, by someone else (that key is taken again: sleep on when none
            // is free) or by an earlier, late attempt of this waiter's (try now).
            if (event.kv.value === own) {
              end("woken");
              return;
            }
            freed.delete(key);
            if (freed.size === 0) {
              clearTimeout(spread);
              spread = undefined;
            }
          }
        }
      };
      readLines(reader, (line) => onMessage(JSON.parse(line) as WatchMessage)).then(
        () => end(spread === undefined ? "failed" : "woken"),
        () => end(signal.aborted ? "ended" : spread === undefined ? "failed" : "woken"),
      );
    });
  }
}

/** Hand each newline-terminated line of a streamed answer to `onLine`, until the stream ends. */
async function readLines(reader: ReadableStreamDefaultReader<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    for (let newline = buffered.indexOf("\n"); newline !== -1; newline = buffered.indexOf("\n")) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== "") onLine(line);
    }
  }
}
