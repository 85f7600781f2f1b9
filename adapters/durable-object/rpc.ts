import { BackendError, InvalidArgumentError } from "../../src/errors.js";
import type { GrantAnswer } from "./protocol.js";

/** Calls to the lock object and the readers of its answers, shared by locks and semaphores. */

export function grant(answer: GrantAnswer, what: string): GrantAnswer {
  if (!Number.isSafeInteger(answer.fence) || typeof answer.expiresAt !== "number" || typeof answer.ttlMs !== "number") {
    throw unexpected(what, answer);
  }
  const { fence, ttlMs, expiresAt, waitedMs } = answer;
  return { ok: true, fence, ttlMs, expiresAt, ...(waitedMs === undefined ? {} : { waitedMs }) };
}

/** Run one RPC call, turning its failures into edgelock errors. */
export async function rpc<T>(what: string, call: () => Promise<T>): Promise<T> {
  let answer: T;
  try {
    answer = await call();
  } catch (cause) {
    throw rpcFailure(what, cause);
  }
  const invalid = answer as { ok?: unknown; reason?: unknown; message?: unknown } | null;
  if (invalid?.ok === false && invalid.reason === "invalid_argument") {
    throw new InvalidArgumentError(`Durable Object refused ${what}: ${String(invalid.message)}`, { cause: answer });
  }
  return answer;
}

/**
 * Workers marks Durable Object errors: `overloaded` ones were refused before
 * running (and retrying soon makes it worse); any other failure of a call
 * that was sent may have run.
 */
function rpcFailure(what: string, cause: unknown): BackendError {
  const flags = (cause ?? {}) as { overloaded?: unknown; retryable?: unknown };
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  if (flags.overloaded === true) {
    return new BackendError(`Durable Object ${what} refused, object overloaded (${detail})`, {
      cause,
      maybeApplied: false,
      retryable: false,
    });
  }
  return new BackendError(`Durable Object ${what} failed (${detail})`, { cause, maybeApplied: true });
}

export function unexpected(what: string, answer: unknown): BackendError {
  return new BackendError(`Durable Object ${what} answered something unreadable: ${JSON.stringify(answer)}`, {
    cause: answer,
    maybeApplied: true,
    retryable: false,
  });
}
