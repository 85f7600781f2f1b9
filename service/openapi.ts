import { MAX_BODY_BYTES, WAITED_HEADER } from "../adapters/http/contract.js";
import type { BodyLimits } from "./requests.js";

type Json = { readonly [name: string]: unknown };

const error = (description: string, codes: readonly string[]): Json => ({
  description,
  content: {
    "application/json": {
      schema: {
        allOf: [{ $ref: "#/components/schemas/Error" }, { properties: { error: { enum: codes } } }],
      },
    },
  },
});

const json = (description: string, ref: string, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } },
});

const retryAfter: Json = {
  "Retry-After": { description: "Seconds until a retry may succeed.", schema: { type: "integer", minimum: 1 } },
};

const routeErrors: Json = {
  "404": error("No such route (for example an unknown action after the key).", ["not_found"]),
  "405": {
    ...error("The route exists but not with this method.", ["method_not_allowed"]),
    headers: { Allow: { description: "The method the route takes.", schema: { type: "string" } } },
  },
};

const common: Json = {
  ...routeErrors,
  "400": error("Bad key, bad JSON, wrong types, missing or unknown fields, out-of-range TTL or wait.", [
    "invalid_request",
  ]),
  "401": error("Missing or unknown bearer token, or no tokens configured (fail closed).", ["unauthorized"]),
  "403": error("The token is scoped to a key prefix this key does not start with.", ["forbidden"]),
  "503": {
    ...error(
      "The backend failed, is misconfigured or did not answer within the backend time limit; the request may have been applied.",
      ["backend_unavailable"],
    ),
    headers: retryAfter,
  },
};

const bodyErrors: Json = {
  "413": error(`Request body over ${MAX_BODY_BYTES} bytes.`, ["payload_too_large"]),
};

const requestBody = (ref: string): Json => ({
  required: true,
  content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } },
});

/**
 * The OpenAPI 3.1 description served at `GET /v1/openapi.json`, with the
 * limits of this deployment (largest TTL and wait) filled in.
 */
export function openApiDocument(limits: BodyLimits, maxValueBytes = 0): Json {
  const ttl = { type: "integer", minimum: 1, maximum: limits.maxTtlMs, description: "Lock TTL, ms." };
  return {
    openapi: "3.1.0",
    info: {
      title: "edgelock lock service",
      version: "1.0.0",
      description:
        "Distributed TTL locks with fencing tokens. Each bearer token is its own tenant unless configured to share one; tenants never see each other's locks.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [
      { url: "/", description: "The deployment that serves this document (paths are relative to its origin)." },
    ],
    security: [{ bearer: [] }],
    paths: {
      "/healthz": {
        get: {
          operationId: "health",
          security: [],
          summary: "Liveness; needs no token and does not touch the backend.",
          responses: {
            "200": json("Serving.", "Health"),
            "405": routeErrors["405"],
          },
        },
      },
      "/v1/openapi.json": {
        get: {
          operationId: "openapi",
          security: [],
          summary: "This document.",
          responses: {
            "200": { description: "OpenAPI 3.1.", content: { "application/json": { schema: { type: "object" } } } },
            "405": routeErrors["405"],
          },
        },
      },
      "/v1/locks/{key}": {
        parameters: [{ $ref: "#/components/parameters/key" }],
        get: {
          operationId: "inspect",
          summary: "Who holds the lock, without its token.",
          responses: { "200": json("The lock's state.", "LockState"), ...common },
        },
      },
      "/v1/locks/{key}/acquire": {
        parameters: [{ $ref: "#/components/parameters/key" }],
        post: {
          operationId: "acquire",
          summary: "Take the lock, waiting up to waitMs for it on the service's side.",
          requestBody: requestBody("AcquireRequest"),
          responses: {
            "200": json("Granted.", "Grant", {
              [WAITED_HEADER]: {
                description: "Extension: ms the service queued the request before the granting attempt.",
                schema: { type: "integer", minimum: 0 },
              },
            }),
            "409": {
              ...error("Still held by someone else after waitMs.", ["locked"]),
              headers: retryAfter,
            },
            "429": {
              ...error("A waiting acquire found the instance's or the tenant's waiter cap full; nothing was applied.", [
                "too_many_waiters",
              ]),
              headers: retryAfter,
            },
            ...common,
            ...bodyErrors,
          },
        },
      },
      "/v1/locks/{key}/extend": {
        parameters: [{ $ref: "#/components/parameters/key" }],
        post: {
          operationId: "extend",
          summary: "Set the expiry of a lock held by token to now + ttlMs; the fence is unchanged.",
          requestBody: requestBody("ExtendRequest"),
          responses: {
            "200": json("Extended.", "Grant"),
            "409": error("Not held by this token (expired, released, taken over).", ["not_held"]),
            ...common,
            ...bodyErrors,
          },
        },
      },
      "/v1/locks/{key}/value": {
        parameters: [{ $ref: "#/components/parameters/key" }],
        get: {
          operationId: "readValue",
          summary: "The lock's guarded value, its version and its writer's fence; no token needed.",
          responses: {
            "200": json("The value (absent when never written or deleted).", "Value"),
            "501": error("The backend has no guarded value.", ["unsupported"]),
            ...common,
          },
        },
        put: {
          operationId: "writeValue",
          summary:
            "Write (or delete) the guarded value if token holds the lock, checked by the backend in the same request as the write.",
          requestBody: requestBody("WriteValueRequest"),
          responses: {
            "200": json("Written.", "Written"),
            "409": error("Not held by this token (not_held), or expectedVersion is stale (version_conflict).", [
              "not_held",
              "version_conflict",
            ]),
            "413": error(`Request body over the value limit (${maxValueBytes} bytes) plus 1 KiB.`, [
              "payload_too_large",
            ]),
            "501": error("The backend has no guarded value.", ["unsupported"]),
            ...common,
          },
        },
      },
      "/v1/locks/{key}/release": {
        parameters: [{ $ref: "#/components/parameters/key" }],
        post: {
          operationId: "release",
          summary: "Free the lock if token holds it.",
          requestBody: requestBody("ReleaseRequest"),
          responses: {
            "200": json("Released.", "Released"),
            "409": error("Not held by this token.", ["not_held"]),
            ...common,
            ...bodyErrors,
          },
        },
      },
      "/v1/locks/{key}/break": {
        parameters: [{ $ref: "#/components/parameters/key" }],
        post: {
          operationId: "forceRelease",
          summary:
            "Free the lock held under `fence` without its token (an operator's break). Only tokens in EDGELOCK_ADMIN_TOKENS; the next holder still gets a greater fence.",
          requestBody: requestBody("BreakRequest"),
          responses: {
            "200": json("Broken.", "Broken"),
            ...common,
            "403": error("Not an admin token, or a key outside the token's prefix.", ["forbidden"]),
            "409": error("Free, or held under another fence.", ["not_held"]),
            "501": error("The backend cannot break locks.", ["unsupported"]),
            ...bodyErrors,
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      parameters: {
        key: {
          name: "key",
          in: "path",
          required: true,
          description: `One percent-encoded path segment: 1 to ${limits.maxKeyBytes} bytes of UTF-8 after decoding, no control characters. The segments '.' and '..' cannot be expressed (URLs normalise them away).`,
          schema: { type: "string", minLength: 1 },
        },
      },
      schemas: {
        Token: { type: "string", pattern: "^[A-Za-z0-9_-]{22}$", description: "Owner token: 128 bits, base64url." },
        AcquireRequest: {
          type: "object",
          additionalProperties: false,
          required: ["ttlMs"],
          properties: {
            ttlMs: ttl,
            waitMs: {
              type: "integer",
              minimum: 0,
              maximum: limits.maxWaitMs,
              // No `default` keyword: generators (openapi-typescript) make a defaulted field required.
              description:
                "How long the service may wait for the lock before answering 409, ms. Optional; 0 when absent.",
            },
            owner: { type: "string", description: "Holder description shown by inspect; 1 to 256 bytes." },
            token: {
              $ref: "#/components/schemas/Token",
              description:
                "Extension: the caller's own owner token. Retrying with it after a lost answer returns the same grant instead of a refusal.",
            },
          },
        },
        ExtendRequest: {
          type: "object",
          additionalProperties: false,
          required: ["token", "ttlMs"],
          properties: { token: { $ref: "#/components/schemas/Token" }, ttlMs: ttl },
        },
        ReleaseRequest: {
          type: "object",
          additionalProperties: false,
          required: ["token"],
          properties: { token: { $ref: "#/components/schemas/Token" } },
        },
        BreakRequest: {
          type: "object",
          additionalProperties: false,
          required: ["fence"],
          properties: { fence: { type: "integer", minimum: 1, description: "The fence `inspect` showed." } },
        },
        Broken: {
          type: "object",
          required: ["released", "fence"],
          properties: { released: { const: true }, fence: { type: "integer", minimum: 1 } },
        },
        Grant: {
          type: "object",
          required: ["key", "token", "fence", "expiresAt", "ttlMs"],
          properties: {
            key: { type: "string" },
            token: { $ref: "#/components/schemas/Token" },
            fence: { type: "integer", minimum: 1, description: "Strictly increasing per key; a safe integer." },
            expiresAt: { type: "integer", description: "Epoch ms, as the backend's authority clock states it." },
            ttlMs: { type: "integer", minimum: 1, description: "TTL actually granted (may be above the request)." },
          },
        },
        Value: {
          type: "object",
          required: ["key", "version", "fence"],
          properties: {
            key: { type: "string" },
            value: { description: "Any JSON value, as written." },
            version: { type: "integer", minimum: 0, description: "Rises on every write; 0 if never written." },
            fence: { type: "integer", minimum: 0, description: "Fence of the lease that wrote it." },
          },
        },
        WriteValueRequest: {
          type: "object",
          additionalProperties: false,
          required: ["token"],
          properties: {
            token: { $ref: "#/components/schemas/Token" },
            value: { description: `Any JSON value, at most ${maxValueBytes} bytes of JSON.` },
            delete: { const: true, description: "Delete the value instead (give either value or delete)." },
            writeId: {
              $ref: "#/components/schemas/Token",
              description: "Id of this write, the same on retries: a retry after a lost answer is applied once.",
            },
            expectedVersion: { type: "integer", minimum: 0, description: "Compare-and-set on the version." },
          },
        },
        Written: {
          type: "object",
          required: ["key", "version", "fence"],
          properties: { key: { type: "string" }, version: { type: "integer" }, fence: { type: "integer" } },
        },
        Health: {
          type: "object",
          required: ["status"],
          additionalProperties: false,
          properties: { status: { const: "ok" } },
        },
        Released: { type: "object", required: ["released"], properties: { released: { const: true } } },
        LockState: {
          oneOf: [
            {
              type: "object",
              required: ["key", "held", "fence", "expiresAt"],
              properties: {
                key: { type: "string" },
                held: { const: true },
                fence: { type: "integer" },
                expiresAt: { type: "integer" },
                owner: { type: "string" },
              },
            },
            {
              type: "object",
              required: ["key", "held"],
              properties: { key: { type: "string" }, held: { const: false } },
            },
          ],
        },
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: { type: "string" },
            message: { type: "string" },
            retryAfterMs: { type: "integer", minimum: 0 },
          },
        },
      },
    },
  };
}
