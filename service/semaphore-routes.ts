/**
 * The semaphore routes of the service, `/v1/semaphores/{key}/…` (see
 * `adapters/http/semaphore-contract.ts`), over the adapter's semaphores.
 * Waiting works as for locks: inside a push backend, or polled here.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { SemaphoreStateBody } from "../adapters/http/semaphore-contract.js";
import { newToken } from "../src/token.js";
import type { LockAdapter, SemaphoreAdapter } from "../src/types.js";
import { acquireAnswer, grantBody, NO_STORE } from "./answers.js";
import type { Authenticator } from "./auth.js";
import {
  type BodyLimits,
  parseAcquire,
  parseExtend,
  parseJson,
  parseKey,
  parseRelease,
  RequestError,
  readBody,
} from "./requests.js";
import { acquireWithinCap, TOO_MANY_WAITERS, type Waiters } from "./wait.js";
import type { WaiterCap } from "./waiter-cap.js";

/** What the routes need from the service. */
export interface SemaphoreRouteContext {
  readonly adapter: LockAdapter;
  readonly authenticate: Authenticator;
  readonly limits: BodyLimits;
  readonly basePath: string;
  readonly waiters: Waiters;
  /** The service's cap on waiting acquires, shared with the lock routes. */
  readonly cap: WaiterCap;
}

const PREFIX = "/v1/semaphores/";

/** Thrown by the wait view when the key's live permits have another limit: ends the wait at once. */
class LimitMismatch {
  constructor(readonly limit: number) {}
}

/** Mount the semaphore routes on `routes` (the service's app or its base path). */
export function mountSemaphoreRoutes(routes: Hono, context: SemaphoreRouteContext): void {
  const { adapter, limits, basePath, waiters, cap } = context;
  routes.all("/v1/semaphores/*", async (c) => {
    const pathname = new URL(c.req.url).pathname;
    const prefix = `${basePath}${PREFIX}`;
    if (!pathname.startsWith(prefix)) return answer(c, 404, { error: "not_found", message: "no such route" });
    const [segment, action, ...rest] = pathname.slice(prefix.length).split("/");
    const operation = rest.length > 0 ? undefined : action === undefined ? "inspect" : action;
    if (segment === undefined || !["inspect", "acquire", "extend", "release"].includes(operation ?? "")) {
      return answer(c, 404, { error: "not_found", message: "no such route; see /v1/openapi.json" });
    }
    const method = operation === "inspect" ? "GET" : "POST";
    if (c.req.method !== method && !(method === "GET" && c.req.method === "HEAD")) {
      return answer(c, 405, { error: "method_not_allowed", message: `use ${method}` }, { Allow: method });
    }
    const principal = await context.authenticate(c.req.header("authorization"));
    if (!principal) {
      return answer(
        c,
        401,
        { error: "unauthorized", message: "a valid Authorization: Bearer token is required" },
        { "WWW-Authenticate": 'Bearer realm="edgelock"' },
      );
    }
    const key = parseKey(segment, limits.maxKeyBytes);
    if (!key.startsWith(principal.prefix)) {
      throw new RequestError(403, "forbidden", "this token may only use keys starting with its configured prefix");
    }
    const semaphores = adapter.semaphores;
    if (!semaphores) {
      return answer(c, 404, { error: "not_found", message: "this service's backend has no semaphores" });
    }
    const backendKey = principal.namespace + key;
    const signal = c.req.raw.signal;
    switch (operation) {
      case "inspect": {
        const state = await semaphores.inspect(backendKey, { signal });
        const body: SemaphoreStateBody = {
          key,
          limit: state.limit,
          permits: state.permits.map(({ fence, expiresAt, owner }) => ({
            fence,
            expiresAt: Math.floor(expiresAt),
            ...(owner === undefined ? {} : { owner }),
          })),
        };
        return c.json(body, 200, NO_STORE);
      }
      case "acquire": {
        const json = parseJson(await body(c));
        const limit = parseLimit(json, semaphores.capabilities.maxLimit);
        const { limit: _limit, ...lockFields } = json as Record<string, unknown>;
        const request = parseAcquire(lockFields, limits);
        const token = request.token ?? newToken();
        const waitMs = request.waitMs ?? 0;
        let result: Awaited<ReturnType<typeof acquireWithinCap>>;
        try {
          // Waits of a semaphore key are withdrawn apart from the lock of the same name.
          result = await acquireWithinCap(
            { waiters, cap, tenant: principal.namespace, waitKey: waitKey(backendKey) },
            permitView(adapter, semaphores, limit),
            { key: backendKey, token, ttlMs: request.ttlMs, waitMs, owner: request.owner, signal },
          );
        } catch (error) {
          if (error instanceof LimitMismatch) return answer(c, 409, { error: "limit_mismatch", limit: error.limit });
          throw error;
        }
        if (!result) return answer(c, 429, TOO_MANY_WAITERS, { "Retry-After": "1" });
        return acquireAnswer(c, key, token, result, "full");
      }
      case "extend": {
        const request = parseExtend(parseJson(await body(c)), limits);
        const result = await semaphores.extend({ key: backendKey, token: request.token, ttlMs: request.ttlMs, signal });
        if (!result.ok) return answer(c, 409, { error: "not_held" });
        return c.json(grantBody(key, request.token, result), 200, NO_STORE);
      }
      default: {
        const request = parseRelease(parseJson(await body(c)));
        waiters.withdraw(waitKey(backendKey), request.token);
        const result = await semaphores.release({ key: backendKey, token: request.token, signal });
        if (!result.ok) return answer(c, 409, { error: "not_held" });
        return c.json({ released: true }, 200, NO_STORE);
      }
    }
  });
}

/** The key's semaphore as a lock adapter with the limit bound in, so the lock's server-side wait serves it too. */
const waitKey = (backendKey: string) => `semaphore\u0000${backendKey}`;

function permitView(adapter: LockAdapter, semaphores: SemaphoreAdapter, limit: number): LockAdapter {
  // The lock's own sleep between polls knows the lock's holders, not the
  // permits': the semaphores' own sleep, where they have one, replaces it.
  const { pollWait: _lockSleep, ...lock } = adapter;
  return {
    ...lock,
    ...(semaphores.pollWait ? { pollWait: semaphores.pollWait.bind(semaphores) } : {}),
    capabilities: { ...adapter.capabilities, pushWakeups: semaphores.capabilities.pushWakeups },
    async acquire(request) {
      const result = await semaphores.acquire({ ...request, limit });
      if (!result.ok && result.reason === "limit_mismatch") throw new LimitMismatch(result.limit);
      return result;
    },
  };
}

function parseLimit(json: unknown, maxLimit: number): number {
  const limit = typeof json === "object" && json !== null ? (json as { limit?: unknown }).limit : undefined;
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1 || limit > maxLimit) {
    throw new RequestError(400, "invalid_request", `limit must be an integer from 1 to ${maxLimit}`);
  }
  return limit;
}

async function body(c: Context): Promise<string> {
  try {
    return await readBody(c.req.raw);
  } catch (cause) {
    if (cause instanceof RequestError) throw cause;
    throw new RequestError(400, "invalid_request", "the request body could not be read", { cause });
  }
}

function answer(c: Context, status: number, body: object, headers: Record<string, string> = {}): Response {
  return c.json(body, status as 400, { ...NO_STORE, ...headers });
}
