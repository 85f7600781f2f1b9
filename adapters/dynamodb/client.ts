import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";

/** What the adapter needs of a DynamoDB client: only `send`. */
export type DynamoDBSender = Pick<DynamoDBClient, "send">;

/** Settings for a client the adapter builds itself. */
export interface FetchClientSettings {
  readonly region?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly credentials?: DynamoDBClientConfig["credentials"];
  readonly fetch: typeof fetch;
}

/**
 * A DynamoDB client whose every request goes through `settings.fetch`
 * (`FetchHttpHandler`'s `customFetch`), with the SDK's own retries off:
 * the lock client retries with the same owner token and resolves ambiguous
 * outcomes itself, and a hidden SDK retry would only add latency and
 * consumed capacity behind its back.
 */
export function fetchDynamoDBClient(settings: FetchClientSettings): DynamoDBClient {
  const injected = settings.fetch;
  return new DynamoDBClient({
    ...(settings.region !== undefined ? { region: settings.region } : {}),
    ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials !== undefined ? { credentials: settings.credentials } : {}),
    maxAttempts: 1,
    // Called through a wrapper so a fetch that depends on its `this`
    // (a bound global on some runtimes) keeps working.
    requestHandler: new FetchHttpHandler({ customFetch: (input, init) => injected(input, init) }),
  });
}
