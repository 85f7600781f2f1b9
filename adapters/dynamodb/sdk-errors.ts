import { BackendError, BackendRejectedError, EdgelockError, fetchFailure } from "../../src/errors.js";

/**
 * DynamoDB answers that prove the request was turned away before it touched
 * any item, and that a later identical request may pass.
 */
const NOT_APPLIED_RETRYABLE = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TransactionConflictException",
  "LimitExceededException",
]);

/** The shape of an AWS SDK service error, read defensively. */
interface ServiceErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly $retryable?: { readonly throttling?: unknown };
}

/**
 * Turn whatever the SDK threw into an edgelock error, cause attached.
 *
 * - throttling and transaction conflicts: the service refused before acting,
 *   so `maybeApplied: false`, retryable;
 * - 5xx, or anything without an HTTP answer (network failure, abort,
 *   timeout, an answer the SDK could not parse): `maybeApplied: true`, so
 *   the lock client resolves the outcome with the owner token;
 * - other 4xx (missing table, credentials, signature, validation): a
 *   {@link BackendRejectedError}, since retrying will not fix it.
 */
export function translateError(error: unknown, operation: string): EdgelockError {
  if (error instanceof EdgelockError) return error;
  const e = (typeof error === "object" && error !== null ? error : {}) as ServiceErrorLike;
  const name = typeof e.name === "string" ? e.name : "Error";
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  const detail = `${name}: ${typeof e.message === "string" ? e.message : String(error)}`;

  if (status === undefined) return fetchFailure(error, `DynamoDB ${operation}`);
  if (NOT_APPLIED_RETRYABLE.has(name) || (status < 500 && e.$retryable?.throttling === true)) {
    return new BackendError(`DynamoDB ${operation} was throttled (${detail})`, {
      cause: error,
      maybeApplied: false,
      retryable: true,
      status,
    });
  }
  if (status >= 500) {
    return new BackendError(`DynamoDB ${operation} failed on the server (${detail})`, {
      cause: error,
      maybeApplied: true,
      retryable: true,
      status,
    });
  }
  if (status >= 400) {
    return new BackendRejectedError(`DynamoDB refused ${operation} (${detail})`, { cause: error, status });
  }
  // A 2xx or 3xx the SDK still failed on: the write may well have happened.
  return new BackendError(`DynamoDB ${operation} answered unreadably (${detail})`, {
    cause: error,
    maybeApplied: true,
    status,
  });
}
