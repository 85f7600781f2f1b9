import type { BodyLimits } from "./requests.js";

type Json = { readonly [name: string]: unknown };

const errorRef = (description: string, codes: readonly string[], extra: Json = {}): Json => ({
  description,
  content: {
    "application/json": {
      schema: {
        allOf: [{ $ref: "#/components/schemas/Error" }, { properties: { error: { enum: codes }, ...extra } }],
      },
    },
  },
});

const common: Json = {
  "400": errorRef("Bad key, bad JSON, wrong types, missing or unknown fields, out-of-range limit, TTL or wait.", [
    "invalid_request",
  ]),
  "401": errorRef("Missing or unknown bearer token.", ["unauthorized"]),
  "403": errorRef("The token is scoped to a key prefix this key does not start with.", ["forbidden"]),
  "404": errorRef("This service's backend has no semaphores.", ["not_found"]),
  "503": errorRef("The backend failed; the request may have been applied.", ["backend_unavailable"]),
};

const body = (properties: Json, required: readonly string[]): Json => ({
  required: true,
  content: {
    "application/json": { schema: { type: "object", additionalProperties: false, required, properties } },
  },
});

const grant: Json = {
  description: "Granted: one permit.",
  content: { "application/json": { schema: { $ref: "#/components/schemas/Grant" } } },
};

/**
 * The semaphore routes of the OpenAPI document (see
 * `adapters/http/semaphore-contract.ts`), added to the lock service's.
 */
export function withSemaphorePaths(document: Json, limits: BodyLimits): Json {
  const key = [{ $ref: "#/components/parameters/key" }];
  const ttlMs = { type: "integer", minimum: 1, maximum: limits.maxTtlMs, description: "Permit TTL, ms." };
  const token = { $ref: "#/components/schemas/Token" };
  const paths: Json = {
    "/v1/semaphores/{key}": {
      parameters: key,
      get: {
        operationId: "semaphoreInspect",
        summary: "The live permits of a semaphore, without tokens.",
        responses: {
          "200": {
            description: "Live permits by ascending fence; limit null when none is live.",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["key", "limit", "permits"],
                  properties: {
                    key: { type: "string" },
                    limit: { type: ["integer", "null"] },
                    permits: {
                      type: "array",
                      items: {
                        type: "object",
                        required: ["fence", "expiresAt"],
                        properties: {
                          fence: { type: "integer" },
                          expiresAt: { type: "integer" },
                          owner: { type: "string" },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
          ...common,
        },
      },
    },
    "/v1/semaphores/{key}/acquire": {
      parameters: key,
      post: {
        operationId: "semaphoreAcquire",
        summary:
          "Take one of limit permits, waiting up to waitMs on the service's side. The fence rises on every permit granted for the key.",
        requestBody: body(
          {
            limit: {
              type: "integer",
              minimum: 1,
              description: "Permits allowed at once; every caller of a key must agree.",
            },
            ttlMs,
            waitMs: { type: "integer", minimum: 0, maximum: limits.maxWaitMs },
            owner: { type: "string" },
            token,
          },
          ["limit", "ttlMs"],
        ),
        responses: {
          "200": grant,
          "409": errorRef(
            "full: all permits held after waitMs (retryAfterMs: until the earliest expires); limit_mismatch: live permits under another limit.",
            ["full", "limit_mismatch"],
            { limit: { type: "integer" } },
          ),
          ...common,
        },
      },
    },
    "/v1/semaphores/{key}/extend": {
      parameters: key,
      post: {
        operationId: "semaphoreExtend",
        summary: "Set the expiry of token's permit to now + ttlMs.",
        requestBody: body({ token, ttlMs }, ["token", "ttlMs"]),
        responses: { "200": grant, "409": errorRef("This token holds no permit.", ["not_held"]), ...common },
      },
    },
    "/v1/semaphores/{key}/release": {
      parameters: key,
      post: {
        operationId: "semaphoreRelease",
        summary: "Free token's permit.",
        requestBody: body({ token }, ["token"]),
        responses: {
          "200": { description: "Released.", content: { "application/json": { schema: { type: "object" } } } },
          "409": errorRef("This token holds no permit.", ["not_held"]),
          ...common,
        },
      },
    },
  };
  return { ...document, paths: { ...(document.paths as Json), ...paths } };
}
