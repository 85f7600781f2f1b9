import { BackendError } from "../../src/errors.js";
import { transportFailure } from "../../src/internal/http-failure.js";
import type { WaitingSlots } from "../../src/internal/waiting-slots.js";
import { postCommand, type RestEndpoint } from "./rest-requester.js";

/** A `BLPOP` shorter than this is not worth a request. */
const MIN_BLOCK_MS = 5;

/**
 * The `BLPOP`s of one adapter instance: at most one open per key, however
 * many of its waiters wait for that key. They queue here in the order they
 * began waiting, and a wake-up token (one release) is handed on as Redis
 * hands one to its blocked clients: to the oldest waiter alone, while the
 * others stay queued on the key's next `BLPOP`. Each waiter's sleep also
 * ends at its own bound (the wait left, the holder's expiry), on its own
 * timer; the `BLPOP` lasts as long as the longest of them. So sixteen
 * waiters on one key hold one request open, not sixteen, and are served
 * first come, first served.
 *
 * A key's open `BLPOP` takes one of the instance's waiting slots
 * (`src/internal/waiting-slots.ts`) until its queue is empty; with none
 * free, {@link wait} answers `false` at once and the caller returns its
 * refusal for the lock client to poll.
 */
export class WakeBlocks {
  readonly #keys = new Map<string, KeyQueue>();

  constructor(
    private readonly endpoint: RestEndpoint,
    private readonly slots: WaitingSlots,
  ) {}

  /**
   * Sleep until `wakeKey` wakes this waiter or `ms` pass (`true`); rejects
   * only when `signal` aborts. `since`, when the waiter began waiting,
   * orders the queue. `false` when this waiter cannot block: the key has no
   * open `BLPOP` and no waiting slot is free (no request is sent), or the
   * key's `BLPOP` failed. A wake-up is a hint, never a grant, so its failure
   * is not the caller's: the caller answers its refusal and the lock client
   * polls, and its next attempt meets a backend that is really down.
   */
  wait(wakeKey: string, ms: number, since: number, signal: AbortSignal | undefined): Promise<boolean> {
    let queue = this.#keys.get(wakeKey);
    if (queue === undefined) {
      if (!this.slots.take()) return Promise.resolve(false);
      queue = new KeyQueue(this.endpoint, wakeKey, () => {
        this.#keys.delete(wakeKey);
        this.slots.give();
      });
      this.#keys.set(wakeKey, queue);
    }
    return queue.join(ms, since, signal);
  }
}

interface Sleeper {
  readonly since: number;
  readonly deadline: number;
  wake(): void;
  /** The key's `BLPOP` failed: stop sleeping, unblocked. */
  drop(): void;
}

/** One key's sleeping waiters, oldest first, and its open `BLPOP`. */
class KeyQueue {
  readonly #sleepers: Sleeper[] = [];
  #controller: AbortController | undefined;

  constructor(
    private readonly endpoint: RestEndpoint,
    private readonly wakeKey: string,
    private readonly onEmpty: () => void,
  ) {}

  join(ms: number, since: number, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const leave = () => {
        const at = this.#sleepers.indexOf(sleeper);
        if (at < 0) return false;
        this.#sleepers.splice(at, 1);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (this.#sleepers.length === 0) this.#close();
        return true;
      };
      const sleeper: Sleeper = {
        since,
        deadline: Date.now() + ms,
        wake: () => leave() && resolve(true),
        drop: () => leave() && resolve(false),
      };
      const onAbort = () => leave() && reject(transportFailure(signal?.reason, "Upstash BLPOP"));
      const at = this.#sleepers.findIndex((other) => other.since > since);
      this.#sleepers.splice(at < 0 ? this.#sleepers.length : at, 0, sleeper);
      const timer = setTimeout(sleeper.wake, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
      else if (this.#controller === undefined) this.#block();
    });
  }

  /** Send the key's next `BLPOP`, for as long as its longest sleeper sleeps. */
  #block(): void {
    const ms = Math.max(...this.#sleepers.map((sleeper) => sleeper.deadline)) - Date.now();
    // Everyone's own timer is about to end their sleep: no request for that.
    if (ms < MIN_BLOCK_MS) return;
    const controller = new AbortController();
    this.#controller = controller;
    blpop(this.endpoint, this.wakeKey, ms, controller.signal).then(
      (token) => {
        if (this.#controller !== controller) return;
        this.#controller = undefined;
        // A token is one release: the oldest waiter takes it, the others sleep
        // on. A timeout wakes nobody: each waiter's own bound (its wait, the
        // holder's expiry it was told) ends its sleep on its own timer, and
        // whoever still sleeps is past this BLPOP's end.
        if (token) this.#sleepers[0]?.wake();
        if (this.#sleepers.length > 0) this.#block();
      },
      () => {
        if (this.#controller !== controller) return;
        this.#controller = undefined;
        // A lost response may have popped a token meant for one of them: all
        // go back to attempting (the lock client's polls), none is failed.
        for (const sleeper of [...this.#sleepers]) sleeper.drop();
      },
    );
  }

  /** The last sleeper left: withdraw the `BLPOP` and give the slot back. */
  #close(): void {
    this.#controller?.abort();
    this.#controller = undefined;
    this.onEmpty();
  }
}

/**
 * One `BLPOP` as its own request: Upstash serves blocking commands over
 * REST but not inside a pipeline, and a shared pipeline would hold every
 * other command back for the whole block. `true` when it popped a token,
 * `false` on a timeout.
 */
async function blpop(endpoint: RestEndpoint, wakeKey: string, ms: number, signal: AbortSignal): Promise<boolean> {
  // Seconds with millisecond resolution (Redis ≥ 6); never 0, which blocks forever.
  const seconds = (Math.ceil(ms) / 1000).toFixed(3);
  const answer = await postCommand(endpoint, [], ["blpop", wakeKey, seconds], signal);
  if ("error" in answer && answer.error !== undefined) {
    // Popping a wake-up changes no lock: nothing to resolve, safe to retry.
    throw new BackendError(`Upstash BLPOP failed: ${answer.error}`, { maybeApplied: false });
  }
  return "result" in answer && answer.result !== null && answer.result !== undefined;
}
