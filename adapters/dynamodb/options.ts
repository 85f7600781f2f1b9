import type { DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { InvalidArgumentError } from "../../src/errors.js";
import { type DynamoDBSender, fetchDynamoDBClient } from "./client.js";
import { DYNAMODB_DEFAULT_TABLE } from "./table.js";

/** Production default of {@link DynamoDBAdapterOptions.clockSkewMarginMs}. */
export const DYNAMODB_DEFAULT_CLOCK_SKEW_MARGIN_MS = 1_000;

/** Largest accepted clock-skew margin, ms. */
const MAX_MARGIN_MS = 600_000;

/** Options of {@link dynamodbAdapter}. */
export interface DynamoDBAdapterOptions {
  /** Table name. Default {@link DYNAMODB_DEFAULT_TABLE}. */
  readonly table?: string;
  /**
   * A client you built. Only `send` is used. The adapter then cannot control
   * its transport or retries: see the docs for keeping it fetch-only. Do not
   * combine with `region`, `endpoint`, `credentials` or `fetch`.
   */
  readonly client?: DynamoDBSender;
  /** AWS region of the client the adapter builds. Needed unless the runtime provides `AWS_REGION` to the SDK. */
  readonly region?: string;
  /** Endpoint override (DynamoDB Local, a VPC endpoint). */
  readonly endpoint?: string;
  /**
   * Credentials or a credential provider for the client the adapter builds.
   * Default: the SDK's chain for the runtime (environment variables on Lambda).
   */
  readonly credentials?: DynamoDBClientConfig["credentials"];
  /** `fetch` for every request of the client the adapter builds. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /**
   * Largest clock difference tolerated between any two clients, ms. Default
   * 1 000. A contender sees a lock expired only this long after its stated
   * expiry; the lock client ends its holder's lease this long before it.
   */
  readonly clockSkewMarginMs?: number;
  /** Clock deciding expiry, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

/** What the adapter runs with: `options` checked, defaults filled in, and the client it uses. */
export interface DynamoDBSettings {
  readonly table: string;
  readonly marginMs: number;
  readonly now: () => number;
  readonly client: DynamoDBSender;
  /** Whether the adapter built the client, and so destroys it on dispose. */
  readonly owned: boolean;
}

/** Check `options` (an `InvalidArgumentError` before any request) and resolve them. */
export function resolveOptions(options: DynamoDBAdapterOptions): DynamoDBSettings {
  if (options.client !== undefined) {
    for (const own of ["region", "endpoint", "credentials", "fetch"] as const) {
      if (options[own] !== undefined) {
        throw new InvalidArgumentError(
          `dynamodbAdapter: pass either client or ${own}, not both (configure your client)`,
        );
      }
    }
  }
  const table = validateTable(options.table ?? DYNAMODB_DEFAULT_TABLE);
  const marginMs = validateMargin(options.clockSkewMarginMs ?? DYNAMODB_DEFAULT_CLOCK_SKEW_MARGIN_MS);
  const now = options.now ?? Date.now;
  const client = options.client ?? ownClient(options);
  return { table, marginMs, now, client, owned: options.client === undefined };
}

function ownClient(options: DynamoDBAdapterOptions): DynamoDBSender {
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== "function") throw new InvalidArgumentError("dynamodbAdapter needs a fetch function");
  return fetchDynamoDBClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    fetch: fetchFn,
  });
}

function validateTable(table: unknown): string {
  if (typeof table !== "string" || !/^[A-Za-z0-9_.-]{3,255}$/.test(table)) {
    throw new InvalidArgumentError(`table must be 3 to 255 characters of A-Z a-z 0-9 _ . -, got ${String(table)}`);
  }
  return table;
}

function validateMargin(margin: unknown): number {
  if (typeof margin !== "number" || !Number.isSafeInteger(margin) || margin < 1 || margin > MAX_MARGIN_MS) {
    throw new InvalidArgumentError(`clockSkewMarginMs must be an integer from 1 to ${MAX_MARGIN_MS}, got ${margin}`);
  }
  return margin;
}
