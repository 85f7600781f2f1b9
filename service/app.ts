/**
 * The HTTP lock service: the v1 contract over any lock adapter, as a Hono
 * app built from web standards only. Mount it on a Worker, a Lambda, an
 * Azure Function or a Node server (see `service/platforms/`).
 *
 * @module
 */
import type { Context, Hono } from "hono";
// The pattern router: a handful of routes need no compiled router, and the
// Worker upload stays within its budget (docs/bench.md).
import { Hono as TinyHono } from "hono/tiny";
import { DEFAULT_MAX_WAIT_MS, type ErrorBody, type StateBody } from "../adapters/http/contract.js";
import { BackendError, BackendRejectedError, EdgelockError, InvalidArgumentError } from "../src/errors.js";
import { newToken } from "../src/token.js";
import { MAX_DURATION_MS, validateDuration } from "../src/validate.js";
import { acquireAnswer, grantBody, NO_STORE } from "./answers.js";
import { createAuthenticator, type Principal, parseTokens } from "./auth.js";
import { conciseErrorLog } from "./error-log.js";
import { jsonErrorLine, jsonRequestLog } from "./logging.js";
import { openApiDocument } from "./openapi.js";
import type { LockServiceOptions } from "./options.js";
import {
  type BodyLimits,
  DEFAULT_MAX_KEY_BYTES,
  LONGEST_MAX_KEY_BYTES,
  parseAcquire,
  parseBreak,
  parseExtend,
  parseJson,
  parseKey,
  parseRelease,
  RequestError,
  readBody,
} from "./requests.js";
import { withSemaphorePaths } from "./semaphore-openapi.js";
import { mountSemaphoreRoutes } from "./semaphore-routes.js";
import { DEFAULT_BACKEND_TIMEOUT_MS, withTimeLimit } from "./time-limit.js";
import { parseWriteValue, readValueAnswer, serviceValueLimit, valueBodyLimit, writeAnswer } from "./values.js";
import { acquireWithinCap, TOO_MANY_WAITERS, Waiters } from "./wait.js";
import { DEFAULT_MAX_WAITERS, DEFAULT_MAX_WAITERS_PER_TENANT, WaiterCap } from "./waiter-cap.js";

type Operation = "acquire" | "extend" | "release" | "inspect" | "break" | "value";

/**
 * Build the lock service. Configuration errors (malformed tokens, bad
 * limits) throw {@link InvalidArgumentError} here rather than at the first
 * request.
 *
 * @example
 * ```ts
 * import { memoryAdapter } from "edgelock";
 * import { createLockService } from "edgelock/server";
 * const app = createLockService({ adapter: memoryAdapter(), tokens: process.env.EDGELOCK_API_TOKENS });
 * export default app; // a fetch handler: Workers, Bun, Deno
 * ```
 */
export function createLockService(options: LockServiceOptions): Hono {
  if (typeof options?.adapter?.acquire !== "function") {
    throw new InvalidArgumentError("createLockService needs an adapter");
  }
  const backendTimeoutMs = validateDuration(
    "backendTimeoutMs",
    options.backendTimeoutMs ?? DEFAULT_BACKEND_TIMEOUT_MS,
    1,
    MAX_DURATION_MS,
  );
  const adapter = withTimeLimit(options.adapter, backendTimeoutMs);
  const cap = new WaiterCap(
    count("maxWaiters", options.maxWaiters ?? DEFAULT_MAX_WAITERS),
    count("maxWaitersPerTenant", options.maxWaitersPerTenant ?? DEFAULT_MAX_WAITERS_PER_TENANT),
  );
  const grants =
    typeof options.tokens === "string" || options.tokens === undefined ? parseTokens(options.tokens) : options.tokens;
  const authenticate = createAuthenticator(grants);
  const admin = options.adminTokens;
  const authenticateAdmin = createAuthenticator(
    typeof admin === "string" || admin === undefined ? parseTokens(admin) : admin,
  );
  const limits: BodyLimits = {
    maxKeyBytes: keyLimit(options.maxKeyBytes),
    maxTtlMs: Math.min(adapter.capabilities.ttl.maxMs, MAX_DURATION_MS),
    maxWaitMs: validateDuration("maxWaitMs", options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS, 0, MAX_DURATION_MS),
  };
  const basePath = normaliseBasePath(options.basePath ?? "");
  if (options.log !== undefined && options.log !== "json")
    throw new InvalidArgumentError('log must be "json" or unset');
  const write = options.logWriter ?? ((line: string) => console.log(line));
  const log = options.log === "json" ? conciseErrorLog(write, Date.now, jsonErrorLine) : conciseErrorLog();
  const report = (operation: string, callerGone: boolean, error: unknown) =>
    options.onError ? options.onError(error) : log({ operation, callerGone, error });
  const maxValueBytes = serviceValueLimit(adapter);
  const openapi = withSemaphorePaths(openApiDocument(limits, maxValueBytes), limits);
  const waiters = new Waiters();

  const app: Hono = new TinyHono({ strict: true });
  if (options.log === "json") app.use(jsonRequestLog(write));
  const routes = basePath === "" ? app : app.basePath(basePath);

  // The pattern router lets a trailing slash through; these paths are exact.
  const exact = (handler: (c: Context) => Response) => (c: Context) =>
    c.req.path.endsWith("/") ? notFound(c) : handler(c);
  routes.get(
    "/healthz",
    exact((c) => c.json({ status: "ok" }, 200, NO_STORE)),
  );
  routes.get(
    "/v1/openapi.json",
    exact((c) => c.json(openapi, 200, { "Cache-Control": "public, max-age=300" })),
  );
  routes.all(
    "/healthz",
    exact((c) => methodNotAllowed(c, "GET")),
  );
  routes.all(
    "/v1/openapi.json",
    exact((c) => methodNotAllowed(c, "GET")),
  );

  routes.all("/v1/locks/*", async (c) => {
    // The raw path, not Hono's decoded one: the key is decoded exactly once, strictly.
    const pathname = new URL(c.req.url).pathname;
    const prefix = `${basePath}/v1/locks/`;
    if (!pathname.startsWith(prefix)) return notFound(c);
    const segments = pathname.slice(prefix.length).split("/");
    const [segment, action, ...rest] = segments;
    const operation = routeOf(action, rest.length);
    if (segment === undefined || operation === undefined) return notFound(c);
    const method = operation === "inspect" ? "GET" : operation === "value" ? "GET, PUT" : "POST";
    const allowed = method.split(", ");
    if (!allowed.includes(c.req.method) && !(allowed.includes("GET") && c.req.method === "HEAD")) {
      return methodNotAllowed(c, method);
    }
    const authorization = c.req.header("authorization");
    const principal = await (operation === "break" ? authenticateAdmin : authenticate)(authorization);
    if (!principal && operation === "break" && (await authenticate(authorization))) {
      throw new RequestError(403, "forbidden", "breaking locks needs a token from EDGELOCK_ADMIN_TOKENS");
    }
    if (!principal) {
      return error(
        c,
        401,
        { error: "unauthorized", message: "a valid Authorization: Bearer token is required" },
        {
          "WWW-Authenticate": 'Bearer realm="edgelock"',
        },
      );
    }
    const key = parseKey(segment, limits.maxKeyBytes);
    if (!key.startsWith(principal.prefix)) {
      throw new RequestError(403, "forbidden", "this token may only use keys starting with its configured prefix");
    }
    return handle(c, operation, principal, key);
  });

  mountSemaphoreRoutes(routes, { adapter, authenticate, limits, basePath, waiters, cap });

  async function handle(c: Context, operation: Operation, principal: Principal, key: string): Promise<Response> {
    const backendKey = principal.namespace + key;
    const signal = c.req.raw.signal;
    switch (operation) {
      case "inspect": {
        const state = await adapter.inspect(backendKey, { signal });
        const body: StateBody = state.held
          ? {
              key,
              held: true,
              fence: state.fence,
              expiresAt: Math.floor(state.expiresAt),
              ...(state.owner === undefined ? {} : { owner: state.owner }),
            }
          : { key, held: false };
        return c.json(body, 200, NO_STORE);
      }
      case "acquire": {
        const request = parseAcquire(parseJson(await body(c)), limits);
        const token = request.token ?? newToken();
        const waitMs = request.waitMs ?? 0;
        const result = await acquireWithinCap(
          { waiters, cap, tenant: principal.namespace, waitKey: backendKey },
          adapter,
          { key: backendKey, token, ttlMs: request.ttlMs, waitMs, owner: request.owner, signal },
        );
        if (!result) return error(c, 429, TOO_MANY_WAITERS, { "Retry-After": "1" });
        return acquireAnswer(c, key, token, result, "locked");
      }
      case "extend": {
        const request = parseExtend(parseJson(await body(c)), limits);
        const result = await adapter.extend({ key: backendKey, token: request.token, ttlMs: request.ttlMs, signal });
        if (!result.ok) return error(c, 409, { error: "not_held" });
        return c.json(grantBody(key, request.token, result), 200, NO_STORE);
      }
      case "break": {
        const request = parseBreak(parseJson(await body(c)));
        if (!adapter.forceRelease) {
          const message = `the ${adapter.capabilities.name} backend cannot break locks`;
          return error(c, 501, { error: "unsupported", message });
        }
        const result = await adapter.forceRelease({ key: backendKey, fence: request.fence, signal });
        if (!result.ok) return error(c, 409, { error: "not_held" });
        return c.json({ released: true, fence: request.fence }, 200, NO_STORE);
      }
      case "value": {
        if (maxValueBytes === 0) {
          return error(c, 501, { error: "unsupported", message: "this service's backend has no guarded value" });
        }
        if (c.req.method !== "PUT") {
          const text = await readValueAnswer(adapter, key, backendKey, signal);
          return c.body(text, 200, { ...NO_STORE, "Content-Type": "application/json" });
        }
        const request = parseWriteValue(parseJson(await body(c, valueBodyLimit(maxValueBytes))), maxValueBytes);
        const write = adapter.writeValue as NonNullable<typeof adapter.writeValue>;
        const result = await write.call(adapter, { key: backendKey, ...request, signal });
        const answer = writeAnswer(key, result);
        return c.json(answer.body, answer.status, NO_STORE);
      }
      case "release": {
        const request = parseRelease(parseJson(await body(c)));
        // Marks this instance's waits of the token; a push backend's release
        // also withdraws the token from its own queue.
        waiters.withdraw(backendKey, request.token);
        const result = await adapter.release({ key: backendKey, token: request.token, signal });
        if (!result.ok) return error(c, 409, { error: "not_held" });
        return c.json({ released: true }, 200, NO_STORE);
      }
    }
  }

  app.notFound((c) => notFound(c));
  app.onError((cause, c) => {
    if (cause instanceof RequestError) {
      return error(c, cause.status, { error: cause.code, message: cause.message });
    }
    if (cause instanceof InvalidArgumentError) {
      // The adapter refused a value the contract let through (a backend-specific limit).
      return error(c, 400, { error: "invalid_request", message: cause.message });
    }
    report(operationOf(c.req.raw), c.req.raw.signal.aborted, cause);
    if (cause instanceof BackendError || cause instanceof BackendRejectedError || cause instanceof EdgelockError) {
      return error(c, 503, { error: "backend_unavailable" }, { "Retry-After": "1" });
    }
    return error(c, 500, { error: "internal_error" });
  });
  return app;
}

function routeOf(action: string | undefined, extra: number): Operation | undefined {
  if (extra > 0) return undefined;
  if (action === undefined) return "inspect";
  return action === "acquire" || action === "extend" || action === "release" || action === "break" || action === "value"
    ? action
    : undefined;
}

async function body(c: Context, limit?: number): Promise<string> {
  try {
    return await readBody(c.req.raw, limit);
  } catch (cause) {
    if (cause instanceof RequestError) throw cause;
    throw new RequestError(400, "invalid_request", "the request body could not be read", { cause });
  }
}

function error(c: Context, status: number, body: ErrorBody, headers: Record<string, string> = {}): Response {
  return c.json(body, status as 400, { ...NO_STORE, ...headers });
}

function notFound(c: Context): Response {
  return error(c, 404, { error: "not_found", message: "no such route; see /v1/openapi.json" });
}

function methodNotAllowed(c: Context, allow: string): Response {
  return error(c, 405, { error: "method_not_allowed", message: `use ${allow}` }, { Allow: allow });
}

function operationOf(request: Request): string {
  const action = /\/(acquire|extend|release)$/.exec(new URL(request.url).pathname)?.[1];
  return action ?? (request.method === "GET" || request.method === "HEAD" ? "inspect" : request.method);
}

function count(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return value;
}

function keyLimit(value: number = DEFAULT_MAX_KEY_BYTES): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > LONGEST_MAX_KEY_BYTES) {
    throw new InvalidArgumentError(`maxKeyBytes must be an integer from 1 to ${LONGEST_MAX_KEY_BYTES}`);
  }
  return value;
}

function normaliseBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed !== "" && !/^\/[A-Za-z0-9._~/-]*$/.test(trimmed)) {
    throw new InvalidArgumentError("basePath must be a plain absolute path such as /api");
  }
  return trimmed;
}
