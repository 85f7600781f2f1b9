import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { BackendError } from "../../src/errors.js";

/**
 * A number attribute the adapter wrote. Missing or unsafe means the item was
 * changed by something else; after a write that went through (`applied`),
 * the lock may be ours, so the lock client must not take it as "not applied".
 */
export function readNumber(
  item: Record<string, AttributeValue> | undefined,
  name: string,
  applied: boolean,
  answer: unknown,
): number {
  const raw = item?.[name]?.N;
  const value = raw === undefined ? Number.NaN : Number(raw);
  if (!Number.isSafeInteger(value)) {
    throw new BackendError(`DynamoDB lock item has no readable "${name}" (got ${JSON.stringify(item?.[name])})`, {
      cause: answer,
      maybeApplied: applied,
      retryable: false,
    });
  }
  return value;
}

/** A number attribute that may be absent (written by an older version, or never): `undefined` then. */
export function optionalNumber(item: Record<string, AttributeValue> | undefined, name: string): number | undefined {
  const raw = item?.[name]?.N;
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
}
