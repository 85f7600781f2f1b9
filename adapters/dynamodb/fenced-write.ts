/**
 * Fenced writes to your own DynamoDB items: the item keeps the fence of the
 * last lease that wrote it, and a write carrying a lower fence fails its
 * condition, in the same request. Works for `PutItem`, `UpdateItem` and the
 * `Put`/`Update` entries of `TransactWriteItems`, whose inputs share these
 * fields.
 *
 * @module
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { InvalidArgumentError } from "../../src/errors.js";

/** Options of {@link fencedPut} and {@link fencedUpdate}. */
export interface FencedWriteOptions {
  /** Attribute holding the fence on your item. Default `"fence"`. */
  readonly attribute?: string;
  /**
   * `true`: refuse a second write with the same fence (`fence < :fence`).
   * Default `false` (`fence <= :fence`): one lease may write several times,
   * and a lease overtaken by a newer holder's write is still refused.
   */
  readonly once?: boolean;
}

interface ConditionFields {
  ConditionExpression?: string | undefined;
  ExpressionAttributeNames?: Record<string, string> | undefined;
  ExpressionAttributeValues?: Record<string, AttributeValue> | undefined;
}

const NAME = "#edgelockFence";
const VALUE = ":edgelockFence";

function check(fence: number, options: FencedWriteOptions) {
  if (!Number.isSafeInteger(fence) || fence < 1) {
    throw new InvalidArgumentError(`fence must be a positive safe integer, got ${String(fence)}`);
  }
  const attribute = options.attribute ?? "fence";
  if (typeof attribute !== "string" || attribute === "") throw new InvalidArgumentError("attribute must be a name");
  return attribute;
}

function withCondition<T extends ConditionFields>(input: T, fence: number, options: FencedWriteOptions): T {
  const attribute = check(fence, options);
  const fenced = `(attribute_not_exists(${NAME}) OR ${NAME} ${options.once ? "<" : "<="} ${VALUE})`;
  const names = input.ExpressionAttributeNames ?? {};
  const values = input.ExpressionAttributeValues ?? {};
  if (NAME in names || VALUE in values) throw new InvalidArgumentError("input is already fenced");
  return {
    ...input,
    ConditionExpression: input.ConditionExpression ? `${fenced} AND (${input.ConditionExpression})` : fenced,
    ExpressionAttributeNames: { ...names, [NAME]: attribute },
    ExpressionAttributeValues: { ...values, [VALUE]: { N: String(fence) } },
  };
}

/**
 * A `PutItem` input (or a transaction's `Put`) that stores `fence` on the
 * item and succeeds only if the stored fence is absent or not higher.
 *
 * @example
 * ```ts
 * import { PutItemCommand } from "@aws-sdk/client-dynamodb";
 * import { fencedPut, isFenceRejection } from "edgelock/dynamodb";
 * try {
 *   await ddb.send(new PutItemCommand(fencedPut({ TableName: "reports", Item: { id: { S: "daily" } } }, lease.fence)));
 * } catch (error) {
 *   if (isFenceRejection(error)) return; // a newer holder wrote already
 *   throw error;
 * }
 * ```
 */
export function fencedPut<T extends ConditionFields & { Item?: Record<string, AttributeValue> | undefined }>(
  input: T,
  fence: number,
  options: FencedWriteOptions = {},
): NoInfer<T> {
  const attribute = check(fence, options);
  return withCondition({ ...input, Item: { ...input.Item, [attribute]: { N: String(fence) } } }, fence, options);
}

/**
 * An `UpdateItem` input (or a transaction's `Update`) that also sets the
 * fence and succeeds only if the stored fence is absent or not higher.
 *
 * @example
 * ```ts
 * const input = fencedUpdate({
 *   TableName: "accounts", Key: { id: { S: "42" } },
 *   UpdateExpression: "SET balance = :b", ExpressionAttributeValues: { ":b": { N: "10" } },
 * }, lease.fence);
 * await ddb.send(new TransactWriteItemsCommand({ TransactItems: [{ Update: input }] }));
 * ```
 */
export function fencedUpdate<T extends ConditionFields & { UpdateExpression?: string | undefined }>(
  input: T,
  fence: number,
  options: FencedWriteOptions = {},
): NoInfer<T> {
  const set = `${NAME} = ${VALUE}`;
  const expression = input.UpdateExpression ?? "";
  // Clause keywords are case-insensitive; add to the SET clause or start one.
  const update = /\bSET\b/i.test(expression)
    ? expression.replace(/\bSET\b/i, `SET ${set},`)
    : `SET ${set}${expression.trim() ? ` ${expression}` : ""}`;
  return withCondition({ ...input, UpdateExpression: update }, fence, options);
}

/**
 * Whether a DynamoDB error is a refused condition: `ConditionalCheckFailed`,
 * or a cancelled transaction with a `ConditionalCheckFailed` reason. Your
 * own condition, merged with the fence's, fails the same way.
 */
export function isFenceRejection(error: unknown): boolean {
  const e = error as { name?: unknown; CancellationReasons?: { Code?: unknown }[] } | null;
  if (e?.name === "ConditionalCheckFailedException") return true;
  return (
    e?.name === "TransactionCanceledException" &&
    (e.CancellationReasons ?? []).some((reason) => reason?.Code === "ConditionalCheckFailed")
  );
}
