import { BackendError, BackendRejectedError, EdgelockError } from "../../src/errors.js";
import { describeChain } from "../../src/internal/error-chain.js";
import { statusFailure } from "../../src/internal/http-failure.js";

/**
 * Turn whatever a PostgreSQL driver threw into an edgelock error, without
 * ever guessing that a request was not applied, and without the owner token
 * (`secrets`) anywhere in the message or the cause.
 *
 * - A PostgreSQL error (a SQLSTATE `code`, as `@neondatabase/serverless`,
 *   `pg` and most drivers report it) means the statement failed and its
 *   transaction rolled back: not applied. Serialization failures, deadlocks,
 *   lock timeouts, cancellations and resource shortages are worth a retry
 *   (`BackendError`); connection and server-crash classes may have committed
 *   (`maybeApplied`); everything else — authentication, a missing table,
 *   permissions, bad SQL — is a `BackendRejectedError`.
 * - An HTTP status (Neon's `Server error (HTTP status N)`, or a `status` on
 *   the error): the shared mapping of `src/internal/http-failure.ts`, every
 *   statement counted as mutating (401/403 and other 4xx rejected, 429 not
 *   applied, 408 and 5xx may have been). A Neon 400 carries the
 *   PostgreSQL error's fields, so its SQLSTATE decides it first.
 * - Anything else (a fetch that failed, an aborted request, a dropped
 *   socket) may have been applied; the message names the root cause from
 *   the `cause` chain (and Neon's `sourceError`), as every HTTP adapter's
 *   does, with the secrets scrubbed.
 */
export function postgresFailure(cause: unknown, what: string, secrets: readonly string[]): EdgelockError {
  if (cause instanceof EdgelockError) return cause;
  const safe = scrubbed(cause, secrets);
  const message = scrub(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause), secrets).slice(
    0,
    500,
  );
  const sqlState = stringField(cause, "code");
  // Five characters with a digit: every SQLSTATE has one, errno codes (EPIPE) have none.
  if (sqlState && /^[0-9A-Z]{5}$/.test(sqlState) && /\d/.test(sqlState)) {
    const text = `${what} failed in PostgreSQL (SQLSTATE ${sqlState}): ${message}`;
    const sqlClass = sqlState.slice(0, 2);
    if (["08", "57", "58", "XX"].includes(sqlClass) && sqlState !== "57014") {
      return new BackendError(text, { cause: safe, maybeApplied: true });
    }
    if (["40", "53", "55"].includes(sqlClass) || sqlState === "57014") {
      return new BackendError(text, { cause: safe, maybeApplied: false });
    }
    return new BackendRejectedError(text, { cause: safe });
  }
  const status = httpStatus(cause);
  if (status !== undefined) {
    // Every statement may write: the adapter judges them all as mutating, as DynamoDB's do.
    return statusFailure(status, `${what} failed (HTTP ${status}): ${message}`, { mutating: true, cause: safe });
  }
  // Neon's driver keeps the failed fetch in `sourceError`, not in `cause`.
  const source =
    typeof cause === "object" && cause !== null ? (cause as { sourceError?: unknown }).sourceError : undefined;
  const chain = describeChain(cause) + (source === undefined ? "" : ` ← ${describeChain(source)}`);
  return new BackendError(`${what} failed in transit (${scrub(chain, secrets).slice(0, 500)})`, {
    cause: safe,
    maybeApplied: true,
  });
}

/** An answer the adapter cannot read: the statement may have run. */
export function unreadable(what: string, rows: unknown, mutating: boolean): BackendError {
  let shown: string;
  try {
    shown = JSON.stringify(rows) ?? String(rows);
  } catch {
    shown = String(rows);
  }
  return new BackendError(`${what}: unexpected answer from PostgreSQL: ${shown.slice(0, 200)}`, {
    maybeApplied: mutating,
    retryable: false,
  });
}

function stringField(value: unknown, name: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const field = (value as Record<string, unknown>)[name];
  return typeof field === "string" ? field : undefined;
}

function httpStatus(cause: unknown): number | undefined {
  if (typeof cause === "object" && cause !== null && "status" in cause && typeof cause.status === "number") {
    return cause.status;
  }
  const match = cause instanceof Error ? /\bHTTP status (\d{3})\b/.exec(cause.message) : null;
  return match?.[1] ? Number(match[1]) : undefined;
}

/** `text` with every secret replaced. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join("[redacted]");
  return out;
}

/**
 * The cause as it is when no secret appears in it (message, stack, own
 * fields, nested causes), else a stand-in `Error` with the same name, code
 * and scrubbed message: drivers and query wrappers may echo parameters.
 */
export function scrubbed(cause: unknown, secrets: readonly string[]): unknown {
  if (!secrets.some((secret) => secret.length > 0 && mentions(cause, secret, 0, new Set()))) return cause;
  const name = cause instanceof Error ? cause.name : "Error";
  const stand = new Error(scrub(cause instanceof Error ? cause.message : String(cause), secrets));
  stand.name = name;
  const code = stringField(cause, "code");
  if (code !== undefined) Object.assign(stand, { code });
  return stand;
}

function mentions(value: unknown, secret: string, depth: number, seen: Set<unknown>): boolean {
  if (typeof value === "string") return value.includes(secret);
  if (typeof value !== "object" || value === null || depth > 4 || seen.has(value)) return false;
  seen.add(value);
  if (value instanceof Error && (value.message.includes(secret) || (value.stack ?? "").includes(secret))) return true;
  const nested = [
    ...Object.values(value),
    ...(value instanceof Error && value.cause !== undefined ? [value.cause] : []),
  ];
  return nested.some((item) => mentions(item, secret, depth + 1, seen));
}
