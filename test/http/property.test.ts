import fc from "fast-check";
import { expect, test } from "vitest";
import { createLockService } from "../../service/app.js";
import { memoryAdapter } from "../../src/index.js";

const TOKEN = "property-token-0001";
const app = createLockService({
  adapter: memoryAdapter(),
  tokens: `${TOKEN},other-token-0002=shared/p`,
  maxWaitMs: 30,
  onError: (error) => {
    throw new Error(`the memory backend never fails, yet the service reported ${String(error)}`);
  },
});

// Requests a client could send: valid and broken methods, paths, headers and bodies, mixed.
const printable = fc.string({ unit: fc.constantFrom(..." !\"#$%&'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~") });
const percentEscape = fc.integer({ min: 0, max: 255 }).map((n) => `%${n.toString(16).padStart(2, "0")}`);
const segment = fc.oneof(
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc
    .array(fc.oneof(percentEscape, fc.constantFrom("a", "é", "%", "%2", "/", ".", "..", "%2e", "~")), { maxLength: 12 })
    .map((parts) => parts.join("")),
  fc.string({ unit: "grapheme", maxLength: 300 }).map(encodeURIComponent),
  fc.integer({ min: 250, max: 400 }).map((n) => "k".repeat(n)),
);
const path = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(segment, fc.constantFrom("", "/acquire", "/extend", "/release", "/", "/acquire/x", "/ACQUIRE"))
      .map(([key, action]) => `/v1/locks/${key}${action}`),
  },
  fc.constantFrom("/", "/healthz", "/v1/openapi.json", "/v1/locks", "/v1/locks/", "/v1//locks/k", "/v1/locks/k?x=1"),
  fc.array(segment, { maxLength: 5 }).map((parts) => `/${parts.join("/")}`),
);
const method = fc.oneof(
  { weight: 3, arbitrary: fc.constant("POST") },
  fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"),
  fc.stringMatching(/^[A-Z]{1,7}$/).filter((m) => !["CONNECT", "TRACE", "TRACK"].includes(m)),
);
const authorization = fc.oneof(
  { weight: 4, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  fc.constant("Bearer other-token-0002"),
  fc.constant(undefined),
  printable.map((s) => `Bearer ${s}`),
  printable,
);
const token = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{22}$/), fc.string(), fc.integer(), fc.constant(null));
const duration = fc.oneof(
  fc.integer({ min: -5, max: 40 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 31, 2 ** 53, -0, 1e21),
  fc.string(),
  fc.constant(null),
);
const shapedBody = fc.record(
  {
    ttlMs: duration,
    waitMs: duration,
    owner: fc.oneof(fc.string({ maxLength: 300 }), fc.integer()),
    token,
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(undefined),
  shapedBody.map((value) => JSON.stringify(value)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 64 }),
  fc.integer({ min: 16_000, max: 17_000 }).map((n) => `{"ttlMs":1000,"owner":"${"x".repeat(n)}"}`),
);
const contentType = fc.option(
  fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "*/*"),
);

test("malformed requests only ever get 4xx JSON answers (or 200 for valid ones), never a 5xx or a stack trace", async () => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(method, path, authorization, body, contentType, async (m, p, auth, b, type) => {
      const headers: Record<string, string> = {};
      if (auth !== undefined) headers.authorization = auth;
      if (type !== null) headers["content-type"] = type;
      const sendsBody = b !== undefined && m !== "GET" && m !== "HEAD";
      const response = await app.request(p, { method: m, headers, ...(sendsBody ? { body: b } : {}) });
      const text = await response.text();
      seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
      expect(response.status === 200 || (response.status >= 400 && response.status < 500)).toBe(true);
      if (m === "HEAD") return;
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      const json = JSON.parse(text) as Record<string, unknown>;
      if (response.status !== 200) {
        expect(json.error).toBeTypeOf("string");
        expect(text).not.toMatch(/\n\s+at |Error:/);
      }
    }),
    { numRuns: 1_500 },
  );
  // The generators must reach every kind of answer, or the property proves little.
  expect([...seen.keys()].sort()).toEqual(expect.arrayContaining([200, 400, 401, 404, 405, 413]));
}, 120_000);
