/**
 * AWS Lambda entry point: the lock service over DynamoDB, behind a Function
 * URL, API Gateway (REST or HTTP API) or an ALB. Handler: `handler`.
 * Configured from the environment (`EDGELOCK_API_TOKENS`,
 * `EDGELOCK_DYNAMODB_TABLE`, see `docs/http.md`); region and credentials
 * come from the Lambda runtime.
 *
 * @module
 */
import type { Hono } from "hono";
import { handle, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import { createLockService } from "../app.js";
import { type ServiceEnv, serviceOptionsFromEnv } from "../options-from-env.js";
import { dynamodbFromEnv } from "./dynamodb-env.js";

/** A Lambda handler for any HTTP event source hono/aws-lambda understands. */
export type LockServiceHandler = (event: LambdaEvent, context?: LambdaContext) => ReturnType<ReturnType<typeof handle>>;

/**
 * Build the handler for `env`. The service (and its DynamoDB client) is
 * made on the first invocation and reused while the execution environment
 * lives; a configuration error is thrown on every invocation, so it shows
 * in the function's logs rather than as a half-working service.
 *
 * @example
 * ```ts
 * export const handler = createLambdaHandler(process.env);
 * ```
 */
export function createLambdaHandler(env: ServiceEnv): LockServiceHandler {
  let app: ((event: LambdaEvent, context?: LambdaContext) => ReturnType<ReturnType<typeof handle>>) | undefined;
  return (event, context) => {
    if (!app) {
      const service: Hono = createLockService(serviceOptionsFromEnv(env, dynamodbFromEnv(env)));
      app = handle(service);
    }
    return app(event, context);
  };
}

/** The Lambda handler (`lambda.handler` in the function's configuration). */
export const handler: LockServiceHandler = createLambdaHandler(process.env);
