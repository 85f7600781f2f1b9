import { BackendError, BackendRejectedError, EdgelockError } from "../../src/errors.js";
import { statusFailure, transportFailure } from "../../src/internal/http-failure.js";

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

/**
 * What the SDK throws before sending when the client is not configured: no
 * request went out, and retrying cannot help. Matched by name and message,
 * as the SDK gives them no status or code.
 */
const CONFIGURATION: ReadonlyArray<{
  readonly test: (name: string, message: string) => boolean;
  readonly fix: string;
}> = [
  {
    test: (_, message) => /region is missing|invalid region/i.test(message),
    fix: "no AWS region: pass region, or set AWS_REGION",
  },
  {
    test: (name, message) => name === "CredentialsProviderError" || /could not load credentials/i.test(message),
    fix: "no AWS credentials: pass credentials, or provide them to the SDK's chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, a role)",
  },
];

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

  if (status === undefined) {
    const message = typeof e.message === "string" ? e.message : "";
    const mistake = CONFIGURATION.find((known) => known.test(name, message));
    if (mistake) {
      return new BackendRejectedError(`DynamoDB ${operation} cannot be sent: ${mistake.fix} (${detail})`, {
        cause: error,
      });
    }
    return transportFailure(error, `DynamoDB ${operation}`);
  }
  if (NOT_APPLIED_RETRYABLE.has(name) || (status < 500 && e.$retryable?.throttling === true)) {
    return new BackendError(`DynamoDB ${operation} was throttled (${detail})`, {
      cause: error,
      maybeApplied: false,
      retryable: true,
      status,
    });
  }
  // 5xx may have been applied; other 4xx (missing table, credentials,
  // signature, validation) will not get better by retrying; a 2xx or 3xx the
  // SDK still failed on may well have been written.
  const text =
    status >= 500
      ? `DynamoDB ${operation} failed on the server (${detail})`
      : status >= 400
        ? `DynamoDB refused ${operation} (${detail})`
        : `DynamoDB ${operation} answered unreadably (${detail})`;
  return statusFailure(status, text, { mutating: true, cause: error });
}

/** Whether the SDK threw for a refused condition (the item was not as the write required). */
export function conditionFailed(error: unknown): boolean {
  // By name, not instanceof: a user's client may come from another copy of the SDK.
  return (error as { name?: unknown } | null)?.name === "ConditionalCheckFailedException";
}
