import type { UpstashResponse } from "@upstash/redis";
import { postCommand, postPipeline, type RestEndpoint } from "./rest-requester.js";

interface Pending {
  readonly command: unknown;
  readonly signal: AbortSignal | undefined;
  resolve(answer: UpstashResponse<unknown>): void;
  reject(error: unknown): void;
}

/**
 * Sends the commands issued in the same turn of the event loop as one
 * `/pipeline` request, so 64 locks taken at once cost one HTTP request, not
 * 64 (as `@upstash/redis`'s auto-pipelining does for its own commands). Each
 * command is still its own atomic script with its own answer; a lone
 * command is sent on its own, with its caller's signal.
 *
 * A failed pipeline request fails every command in it the same way (a lost
 * answer makes each of them possibly applied), which each caller's owner
 * token resolves. The shared request is aborted only when every caller in
 * it has aborted: one caller giving up must not cancel the others.
 */
export class CommandBatcher {
  readonly #endpoint: RestEndpoint;
  #queue: Pending[] = [];

  constructor(endpoint: RestEndpoint) {
    this.#endpoint = endpoint;
  }

  send(command: unknown, signal?: AbortSignal): Promise<UpstashResponse<unknown>> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ command, signal, resolve, reject });
      if (this.#queue.length === 1) queueMicrotask(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    const [only] = batch;
    if (only && batch.length === 1) {
      postCommand(this.#endpoint, [], only.command, only.signal).then(only.resolve, only.reject);
      return;
    }
    postPipeline(
      this.#endpoint,
      batch.map((pending) => pending.command),
      whenAllAborted(batch.map((pending) => pending.signal)),
    ).then(
      (answers) => {
        batch.forEach((pending, i) => {
          pending.resolve(answers[i] as UpstashResponse<unknown>);
        });
      },
      (error: unknown) => {
        for (const pending of batch) pending.reject(error);
      },
    );
  }
}

/** A signal that aborts once every one of `signals` has; never if any is missing. */
function whenAllAborted(signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  if (signals.some((signal) => signal === undefined)) return undefined;
  const controller = new AbortController();
  const check = () => {
    if (signals.every((signal) => signal?.aborted)) controller.abort(signals[0]?.reason);
  };
  for (const signal of signals) signal?.addEventListener("abort", check, { once: true });
  check();
  return controller.signal;
}
