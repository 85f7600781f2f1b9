import {
  BackendError,
  BackendRejectedError,
  EdgelockError as Base,
  type EdgelockError,
  fetchFailure,
} from "../../src/errors.js";

/**
 * Turn anything an Upstash call threw into an edgelock error, never losing
 * it (`cause`) and never guessing that a request was not applied.
 *
 * `@upstash/redis` reports Redis errors, HTTP errors of a user's own client
 * and unreadable bodies alike as `UpstashError` with only a message, so the
 * message is what there is to classify.
 */
export function upstashFailure(thrown: unknown, what: string): EdgelockError {
  let cause = thrown;
  if (cause instanceof Base) return cause;
  if (!(cause instanceof Error) || !cause.name.startsWith("Upstash")) return fetchFailure(cause, what);
  const message = redisMessage(cause);
  // The echoed command carries the owner token: keep the error, not the echo.
  if (message !== cause.message) cause = withoutEcho(cause, message);
  if (/\b(unauthori[sz]ed|forbidden|NOAUTH|WRONGPASS|NOPERM)\b/i.test(message)) {
    return new BackendRejectedError(`Upstash refused ${what}: ${message}`, { cause });
  }
  if (/user_script|Error running script|WRONGTYPE|edgelock:/i.test(message)) {
    // A script error is a bug or foreign data at the lock key: retrying will
    // not fix it, and the script may have written before it failed.
    return new BackendError(`${what} failed in Redis: ${message}`, { cause, maybeApplied: true, retryable: false });
  }
  // Anything else (a gateway's HTML error page, a 5xx, a rate limit, a
  // connection dropped mid-answer) may have run the script: say so.
  return new BackendError(`${what} failed: ${message}`, { cause, maybeApplied: true });
}

/** Whether a script call failed only because Redis does not have the script cached. */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && /^(Command failed: )?NOSCRIPT\b/.test(redisMessage(error));
}

/**
 * The error without the echo of the command that `@upstash/redis` appends:
 * that echo holds user keys, which must not steer the classification.
 */
function redisMessage(error: Error): string {
  const echo = error.message.indexOf(", command was: ");
  return echo === -1 ? error.message : error.message.slice(0, echo);
}

function withoutEcho(error: Error, message: string): Error {
  const copy = new Error(message);
  copy.name = error.name;
  return copy;
}

/** An answer the adapter cannot read: the script ran (or may have), so the outcome is unknown. */
export function unreadable(what: string, reply: unknown, mutating: boolean): BackendError {
  let shown: string;
  try {
    shown = JSON.stringify(reply) ?? String(reply);
  } catch {
    shown = String(reply);
  }
  return new BackendError(`${what}: unexpected reply from Redis: ${shown.slice(0, 200)}`, {
    cause: reply,
    maybeApplied: mutating,
    retryable: false,
  });
}
