/**
 * One mapping from what a backend's HTTP layer did to edgelock's errors,
 * shared by every adapter that speaks HTTP (Upstash's requester, the Azure
 * Blob REST calls, DynamoDB's SDK errors, the HTTP client of the service,
 * etcd's JSON gateway, PostgreSQL's HTTP endpoints such as Neon's).
 *
 * | answer                          | error                                        | applied?        |
 * |---------------------------------|----------------------------------------------|-----------------|
 * | none (network, TLS, DNS, abort) | `BackendError`, retryable, root cause named  | maybe           |
 * | 401, 403                        | `BackendRejectedError`                       | no              |
 * | 400, 413                        | `BackendRejectedError`; `InvalidArgumentError` where the backend judges the caller's own input (`badRequest: "invalid-argument"`, the edgelock service) | no |
 * | 408                             | `BackendError`, retryable                    | maybe, if mutating |
 * | 429                             | `BackendError`, retryable                    | no              |
 * | other 4xx                       | `BackendRejectedError`                       | no              |
 * | 5xx                             | `BackendError`, retryable                    | maybe, if mutating |
 * | 2xx/3xx the caller cannot read  | `BackendError`, not retryable                | maybe, if mutating |
 *
 * Deliberate choices: a 408 counts as maybe applied (a proxy may time out
 * after forwarding; the owner token resolves it at the cost of one retry),
 * and only the edgelock service's 400 is the caller's fault, since it
 * validates the caller's arguments; a cloud API's 400 means the adapter or
 * its configuration sent something the service will not take.
 *
 * What an adapter decides before this table, on purpose: a backend's own
 * error code where it has one. DynamoDB's throttling names are not applied
 * whatever their status. etcd reads a gRPC code as the status its gateway
 * gives that code, except `NOT_FOUND` (a lease gone before its transaction:
 * not applied, retryable, where a 404 here is rejected). PostgreSQL's
 * SQLSTATE decides before any status (a Neon 400 carries one), and its
 * statements all count as mutating.
 *
 * @module
 */
import {
  BackendError,
  BackendRejectedError,
  type EdgelockError,
  fetchFailure,
  InvalidArgumentError,
} from "../errors.js";

/** How to judge an HTTP answer. */
export interface StatusContext {
  /** Whether the request changes state: a server failure may then have applied it. */
  readonly mutating: boolean;
  /** What a 400 or 413 means. Default `"rejected"`. */
  readonly badRequest?: "rejected" | "invalid-argument";
  readonly cause?: unknown;
}

/** The error for an HTTP answer the caller did not expect; `message` already names the request and status. */
export function statusFailure(status: number, message: string, context: StatusContext): EdgelockError {
  const { mutating, cause } = context;
  if (status === 401 || status === 403) return new BackendRejectedError(message, { status, cause });
  if (status === 400 || status === 413) {
    return context.badRequest === "invalid-argument"
      ? new InvalidArgumentError(message, { cause })
      : new BackendRejectedError(message, { status, cause });
  }
  if (status === 408 || status >= 500) return new BackendError(message, { status, cause, maybeApplied: mutating });
  if (status === 429) return new BackendError(message, { status, cause, maybeApplied: false });
  if (status >= 400) return new BackendRejectedError(message, { status, cause });
  return new BackendError(message, { status, cause, maybeApplied: mutating, retryable: false });
}

/**
 * Wrap anything a `fetch` call threw (network failure, abort, timeout) as a
 * `BackendError` that may have been applied, naming the root cause (see
 * `fetchFailure` in `errors.ts`, which the lock client's own timeouts share).
 */
export const transportFailure: (cause: unknown, what: string) => EdgelockError = fetchFailure;
