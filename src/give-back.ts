import { ReleaseRequest } from "./adapter-requests.js";
import type { AttemptSignal } from "./backend-call.js";
import { BackendError } from "./errors.js";
import { redactToken } from "./internal/redact.js";
import { sleep } from "./timing.js";
import type { AdapterAcquireResult, LockAdapter } from "./types.js";

/**
 * Giving back a grant the caller will never see, after a waiting acquire
 * ended without a lease (aborted, failed, or timed out after a retry).
 *
 * A request the client gave up on can still be applied by the backend: it
 * may sit in a proxy or a queue, or be applied just as its answer is lost.
 * The owner token resolves that, never a guess: release by it once the
 * last request's answer is known. When that release found nothing to free
 * although some attempt went unanswered, that attempt may still be on its
 * way (a release that overtakes a late grant finds nothing), so release
 * once more a request timeout later. Releasing a token that holds nothing
 * is a no-op: a spare release costs one request and nothing else.
 *
 * @module
 */

/** What is known of an acquire that ended without a lease. */
export interface Abandoned {
  /** The last attempt's request, still running or settled; undefined when none was in flight. */
  readonly last: Promise<AdapterAcquireResult> | undefined;
  /** Some earlier attempt got no answer, so it may yet be applied. */
  readonly unanswered: boolean;
  /** How long a request may take: the wait for `last`, and the gap before the second release. */
  readonly requestTimeoutMs: number;
  /** Release by the acquire's owner token, reporting its own failure: whether it freed a grant. */
  readonly release: () => Promise<boolean>;
}

/**
 * Release what the abandoned acquire may hold, in the background (the
 * caller has had its answer). Nothing is sent when every attempt was
 * answered and the last one was refused.
 */
export async function giveBack(abandoned: Abandoned): Promise<void> {
  const answer = abandoned.last ? await outcome(abandoned.last, abandoned.requestTimeoutMs) : "refused";
  if (answer === "refused" && !abandoned.unanswered) return;
  const freed = await abandoned.release();
  if (freed || (answer === "granted" && !abandoned.unanswered)) return;
  await sleep(abandoned.requestTimeoutMs);
  await abandoned.release();
}

/** The answer of `request`, or "unknown" if it fails or takes longer than `ms`. */
function outcome(request: Promise<AdapterAcquireResult>, ms: number): Promise<"granted" | "refused" | "unknown"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("unknown"), ms);
    request.then(
      (result) => {
        clearTimeout(timer);
        resolve(result.ok ? "granted" : "refused");
      },
      () => {
        clearTimeout(timer);
        resolve("unknown");
      },
    );
  });
}

/** What {@link releaseQuietly} needs of the locker. */
export interface QuietReleaseContext {
  readonly adapter: LockAdapter;
  call<T>(operation: (attempt: AttemptSignal) => Promise<T>): Promise<T>;
  report(error: unknown): void;
}

/** Release by token in the background, reporting a failure (token redacted): whether it freed a grant. */
export async function releaseQuietly(ctx: QuietReleaseContext, backendKey: string, token: string): Promise<boolean> {
  try {
    const result = await ctx.call((attempt) => ctx.adapter.release(new ReleaseRequest(backendKey, token, attempt)));
    return result.ok;
  } catch (error) {
    ctx.report(
      new BackendError(`could not release "${backendKey}" after a failed acquire; it frees itself at its TTL`, {
        cause: redactToken(error, token),
        maybeApplied: true,
      }),
    );
    return false;
  }
}
