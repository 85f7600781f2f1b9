import { dynamodbAdapter } from "../../adapters/dynamodb/index.js";
import type { LockAdapter } from "../../src/types.js";
import { EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS, EDGELOCK_DYNAMODB_ENDPOINT, EDGELOCK_DYNAMODB_TABLE } from "../env.js";
import type { ServiceEnv } from "../options-from-env.js";
import { required, wholeNumber } from "./backend-env.js";

/**
 * The DynamoDB adapter from `EDGELOCK_DYNAMODB_TABLE` (required),
 * `EDGELOCK_DYNAMODB_ENDPOINT` and `EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS`,
 * with the region and credentials the runtime provides (`AWS_REGION`,
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` on Lambda).
 *
 * @example
 * ```ts
 * const adapter = dynamodbFromEnv(process.env);
 * ```
 */
export function dynamodbFromEnv(env: ServiceEnv): LockAdapter {
  const endpoint = env[EDGELOCK_DYNAMODB_ENDPOINT];
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const margin = wholeNumber(env, EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS);
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const sessionToken = env.AWS_SESSION_TOKEN;
  return dynamodbAdapter({
    table: required(env, EDGELOCK_DYNAMODB_TABLE, "for the DynamoDB backend"),
    ...(typeof endpoint === "string" && endpoint !== "" ? { endpoint } : {}),
    ...(typeof region === "string" && region !== "" ? { region } : {}),
    ...(margin === undefined ? {} : { clockSkewMarginMs: margin }),
    // Given explicitly when the environment has them (always on Lambda), so
    // the SDK's provider chain, with its file and network lookups, is not loaded.
    ...(typeof accessKeyId === "string" && typeof secretAccessKey === "string"
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(typeof sessionToken === "string" ? { sessionToken } : {}),
          },
        }
      : {}),
  });
}
