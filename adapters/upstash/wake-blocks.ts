import { BackendError } from "../../src/errors.js";
import { transportFailure } from "../../src/internal/http-failure.js";
import type { WaitingSlots } from "../../src/internal/waiting-slots.js";
import { postCommand, type RestEndpoint } from "./rest-requester.js";

/**
 * How long past its block the waiter that sent a `BLPOP` waits for its
 * answer before it attempts again anyway (the lock client's per-request
 * time limit ends it in any case). A waiter that joined someone else's
 * `BLPOP` sleeps only for its own bound.
 */
const ANSWER_GRACE_MS = 1_000;

/**
 * The `BLPOP`s of one adapter instance. Waiters on the same key in this
 * instance share one: a release pushes one wake-up token, which one `BLPOP`
 * pops, so every local waiter of the key is woken by it and attempts again,
 * and the shared batcher sends those attempts as one `/pipeline` request.
 * Without the sharing, sixteen local waiters would hold sixteen requests
 * open, and one release would wake one of them.
 *
 * Each distinct key's `BLPOP` takes one of the instance's waiting slots
 * (`src/internal/waiting-slots.ts`); with none free, {@link wait} answers
 * `false` at once and the caller returns its refusal for the lock client
 * to poll.
 */
export class WakeBlocks {
  readonly #blocks = new Map<string, SharedBlock>();

  constructor(
    private readonly endpoint: RestEndpoint,
    private readonly slots: WaitingSlots,
  ) {}

  /**
   * Sleep until a wake-up on `wakeKey`, the key's shared `BLPOP` ends, or
   * `ms` pass; rejects when the `BLPOP` fails or `signal` aborts. `false`,
   * without a request, when no waiting slot is free.
   */
  async wait(wakeKey: string, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    let block = this.#blocks.get(wakeKey);
    let sleepMs = ms;
    if (block === undefined || !block.open) {
      if (!this.slots.take()) return false;
      // Its own BLPOP answers just after `ms`: let the answer, not a timer, end the sleep.
      sleepMs = ms + ANSWER_GRACE_MS;
      block = new SharedBlock(this.endpoint, wakeKey, ms, () => {
        if (this.#blocks.get(wakeKey) === block) this.#blocks.delete(wakeKey);
        this.slots.give();
      });
      this.#blocks.set(wakeKey, block);
    }
    await block.join(sleepMs, signal);
    return true;
  }
}

/** One `BLPOP` request and the local waiters sleeping on it. */
class SharedBlock {
  readonly #controller = new AbortController();
  readonly #answered: Promise<void>;
  #joiners = 0;
  #ended = false;

  constructor(endpoint: RestEndpoint, wakeKey: string, ms: number, onEnd: () => void) {
    this.#answered = blpop(endpoint, wakeKey, ms, this.#controller.signal).finally(() => {
      this.#ended = true;
      onEnd();
    });
    // Its outcome reaches whoever joined; one nobody waits for any more must not go unhandled.
    this.#answered.catch(() => {});
  }

  /** Sleep on this `BLPOP` for at most `ms`; the last waiter to leave withdraws it. */
  join(ms: number, signal: AbortSignal | undefined): Promise<void> {
    this.#joiners++;
    return new Promise<void>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return false;
        left = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#joiners--;
        if (this.#joiners === 0 && !this.#ended) {
          // Ended here rather than when the aborted request settles, so that no
          // new waiter joins a block that is going away.
          this.#ended = true;
          this.#controller.abort();
        }
        return true;
      };
      const onAbort = () => {
        if (leave()) reject(transportFailure(signal?.reason, "Upstash BLPOP"));
      };
      const timer = setTimeout(() => {
        if (leave()) resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) return onAbort();
      this.#answered.then(
        () => {
          if (leave()) resolve();
        },
        (error: unknown) => {
          if (leave()) reject(error);
        },
      );
    });
  }

  /** Whether a new waiter may still join. */
  get open(): boolean {
    return !this.#ended;
  }
}

/**
 * One `BLPOP` as its own request: Upstash serves blocking commands over
 * REST but not inside a pipeline, and a shared pipeline would hold every
 * other command back for the whole block. A timeout (`null`) and a token
 * mean the same here: attempt again.
 */
async function blpop(endpoint: RestEndpoint, wakeKey: string, ms: number, signal: AbortSignal): Promise<void> {
  // Seconds with millisecond resolution (Redis ≥ 6); never 0, which blocks forever.
  const seconds = (Math.ceil(ms) / 1000).toFixed(3);
  const answer = await postCommand(endpoint, [], ["blpop", wakeKey, seconds], signal);
  if ("error" in answer && answer.error !== undefined) {
    // Popping a wake-up changes no lock: nothing to resolve, safe to retry.
    throw new BackendError(`Upstash BLPOP failed: ${answer.error}`, { maybeApplied: false });
  }
}
