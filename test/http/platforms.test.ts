import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { HttpRequest, InvocationContext } from "@azure/functions";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import type { LambdaEvent } from "hono/aws-lambda";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { azureBlobAdapter } from "../../adapters/azure-blob/index.js";
import { createLockTable } from "../../adapters/dynamodb/index.js";
import { createAzureHandler } from "../../service/platforms/azure-functions.js";
import { createLambdaHandler } from "../../service/platforms/lambda.js";
import { newToken } from "../../src/index.js";
import { type Azurite, startAzurite } from "../support/azurite.js";
import {
  DYNAMODB_LOCAL_CREDENTIALS,
  DYNAMODB_LOCAL_REGION,
  type DynamoDBLocal,
  startDynamoDBLocal,
} from "../support/dynamodb-local.js";

const TOKEN = "platform-entry-token-01";

interface Exchange {
  status: number;
  json: Record<string, unknown>;
}
type Send = (method: string, path: string, body?: unknown, token?: string) => Promise<Exchange>;

/** Take, inspect, release and the error paths, through one platform's entry point. */
function entryPointCases(send: () => Send): void {
  test("take, inspect, release", async () => {
    const taken = await send()("POST", "/v1/locks/report%2Fdaily/acquire", { ttlMs: 20_000, owner: "cron" });
    expect(taken.status).toBe(200);
    expect(taken.json).toMatchObject({ key: "report/daily", ttlMs: 20_000 });
    expect(taken.json.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const held = await send()("GET", "/v1/locks/report%2Fdaily");
    expect(held.json).toMatchObject({ key: "report/daily", held: true, fence: taken.json.fence });
    expect(await send()("POST", "/v1/locks/report%2Fdaily/acquire", { ttlMs: 20_000 })).toMatchObject({
      status: 409,
      json: { error: "locked" },
    });
    expect(await send()("POST", "/v1/locks/report%2Fdaily/release", { token: taken.json.token })).toEqual({
      status: 200,
      json: { released: true },
    });
    expect((await send()("GET", "/v1/locks/report%2Fdaily")).json).toEqual({ key: "report/daily", held: false });
  });

  test("wrong token → 401, bad body → 400, unknown route → 404, health without auth", async () => {
    expect((await send()("GET", "/v1/locks/k", undefined, "not-the-token-000")).status).toBe(401);
    expect(await send()("POST", "/v1/locks/k/acquire", { ttlMs: "soon" })).toMatchObject({
      status: 400,
      json: { error: "invalid_request" },
    });
    expect((await send()("GET", "/v1/nothing")).status).toBe(404);
    expect(await send()("GET", "/healthz", undefined, "")).toEqual({ status: 200, json: { status: "ok" } });
  });
}

describe("AWS Lambda entry (hono/aws-lambda) over DynamoDB Local, with Function URL events", () => {
  let ddb: DynamoDBLocal;
  let handler: ReturnType<typeof createLambdaHandler>;
  beforeAll(async () => {
    ddb = await startDynamoDBLocal();
    const client = new DynamoDBClient({
      endpoint: ddb.endpoint,
      region: DYNAMODB_LOCAL_REGION,
      credentials: DYNAMODB_LOCAL_CREDENTIALS,
      requestHandler: new FetchHttpHandler(),
    });
    await createLockTable(client, { table: "edgelock-lambda" });
    // The variables a Lambda function has: its own, plus what the runtime sets.
    handler = createLambdaHandler({
      EDGELOCK_API_TOKENS: TOKEN,
      EDGELOCK_DYNAMODB_TABLE: "edgelock-lambda",
      EDGELOCK_DYNAMODB_ENDPOINT: ddb.endpoint,
      AWS_REGION: DYNAMODB_LOCAL_REGION,
      AWS_ACCESS_KEY_ID: DYNAMODB_LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DYNAMODB_LOCAL_CREDENTIALS.secretAccessKey,
    });
  }, 120_000);
  afterAll(() => ddb?.stop());

  entryPointCases(() => async (method, path, body, token = TOKEN) => {
    const headers: Record<string, string> = { host: "abc123.lambda-url.eu-west-1.on.aws" };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    // A Function URL event as Lambda delivers it (hono's types also demand
    // authorizer fields that Function URLs without IAM auth do not send).
    const event = {
      version: "2.0",
      routeKey: "$default",
      rawPath: path,
      rawQueryString: "",
      headers,
      requestContext: {
        accountId: "123456789012",
        apiId: "abc123",
        domainName: "abc123.lambda-url.eu-west-1.on.aws",
        domainPrefix: "abc123",
        http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
        requestId: crypto.randomUUID(),
        routeKey: "$default",
        stage: "$default",
        time: new Date().toISOString(),
        timeEpoch: Date.now(),
      },
      isBase64Encoded: false,
      body: body === undefined ? null : JSON.stringify(body),
    } as unknown as LambdaEvent;
    const result = await handler(event);
    const text = result.isBase64Encoded ? atob(result.body) : result.body;
    return { status: result.statusCode, json: JSON.parse(text) as Record<string, unknown> };
  });
});

describe("Azure Functions entry (v4 model) over Azurite", () => {
  let azurite: Azurite;
  let handler: ReturnType<typeof createAzureHandler>;
  beforeAll(async () => {
    azurite = await startAzurite();
    // The deployment creates the container; here the adapter does it once.
    const setup = azureBlobAdapter({
      connectionString: azurite.connectionString,
      container: "edgelock-fn",
      createContainer: true,
    });
    const token = newToken();
    await setup.acquire({ key: "setup", token, ttlMs: 15_000 });
    await setup.release({ key: "setup", token });
    handler = createAzureHandler({
      EDGELOCK_API_TOKENS: TOKEN,
      EDGELOCK_AZURE_CONNECTION_STRING: azurite.connectionString,
      EDGELOCK_AZURE_CONTAINER: "edgelock-fn",
    });
  }, 120_000);
  afterAll(() => azurite?.stop());

  entryPointCases(() => async (method, path, body, token = TOKEN) => {
    const request = new HttpRequest({
      method,
      // Functions' default route prefix.
      url: `https://edgelock.azurewebsites.net/api${path}`,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: { string: JSON.stringify(body) } }),
    });
    const response = await handler(request, new InvocationContext());
    const text = new TextDecoder().decode(response.body as Uint8Array);
    return { status: response.status ?? 200, json: JSON.parse(text) as Record<string, unknown> };
  });
});
