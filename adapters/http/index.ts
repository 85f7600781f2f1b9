/**
 * `edgelock/http`: a {@link LockAdapter} that speaks the lock service's v1
 * contract, so `createLocker` works unchanged against a deployed service.
 *
 * @module
 */
import { BackendError, BackendRejectedError, fetchFailure, InvalidArgumentError } from "../../src/errors.js";
import type {
  AdapterAcquireResult,
  AdapterCallOptions,
  AdapterCapabilities,
  AdapterExtendResult,
  AdapterGrant,
  AdapterReleaseResult,
  LockAdapter,
  LockState,
} from "../../src/types.js";
import { MAX_DURATION_MS, validateDuration } from "../../src/validate.js";
import { DEFAULT_MAX_WAIT_MS, WAITED_HEADER } from "./contract.js";
import { httpSemaphores } from "./semaphores.js";

/** Options of {@link httpAdapter}. */
export interface HttpAdapterOptions {
  /** Base URL of the service, e.g. `https://locks.example.com` (a path prefix is kept). */
  readonly url: string;
  /** Bearer token configured in the service's `EDGELOCK_API_TOKENS`. */
  readonly token: string;
  /** Injectable `fetch`. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /**
   * The service's `EDGELOCK_MAX_WAIT_MS` (default 30 000): longer waits are
   * sent as several requests of at most this long.
   */
  readonly maxWaitMs?: number;
  /** TTL bounds of the service's backend, if known; default: 1 ms to 2^31 − 1 ms, which the service enforces. */
  readonly ttl?: AdapterCapabilities["ttl"];
  /**
   * Extra safety margin subtracted from each lease's local deadline, ms:
   * set it to the backend's margin when the service runs over a
   * client-clock backend (DynamoDB) and you want the holder-side margin too.
   * Default 0 (the service's backend already applies its margin to contenders).
   */
  readonly clockSkewMarginMs?: number;
}

/**
 * Locks held by a deployed edgelock service. One HTTP request per
 * operation; waits happen on the service's side (`pushWakeups`), so a
 * waiting acquire is one long request rather than a poll loop over the
 * internet.
 *
 * @example
 * ```ts
 * import { createLocker } from "edgelock";
 * import { httpAdapter } from "edgelock/http";
 * const locker = createLocker({
 *   adapter: httpAdapter({ url: "https://locks.example.com", token: process.env.EDGELOCK_TOKEN ?? "" }),
 * });
 * await locker.withLock("nightly-report", async (lease) => runReport(lease.fence));
 * ```
 */
export function httpAdapter(options: HttpAdapterOptions): LockAdapter {
  if (typeof options?.url !== "string" || !/^https?:\/\//i.test(options.url)) {
    throw new InvalidArgumentError("httpAdapter needs an http(s) url");
  }
  if (typeof options.token !== "string" || options.token === "" || /[\s,]/.test(options.token)) {
    throw new InvalidArgumentError("httpAdapter needs the bearer token the service was configured with");
  }
  const base = options.url.replace(/\/+$/, "");
  const send = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const maxWaitMs = validateDuration("maxWaitMs", options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS, 0, MAX_DURATION_MS);
  const margin = validateDuration("clockSkewMarginMs", options.clockSkewMarginMs ?? 0, 0, MAX_DURATION_MS);
  const authorization = `Bearer ${options.token}`;

  const capabilities: AdapterCapabilities = {
    name: "http",
    // The service's backend applies any skew margin to contenders; the lease
    // deadline counts from when this client sent the request, which no
    // backend clock can precede. See docs/http.md, "Whose clock decides".
    clock: margin > 0 ? "client" : "backend",
    clockSkewMarginMs: margin,
    ttl: options.ttl ?? { minMs: 1, maxMs: MAX_DURATION_MS, granularityMs: 1 },
    fencing: { native: true },
    pushWakeups: true,
    requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
  };

  async function call(
    what: string,
    method: "GET" | "POST",
    key: string,
    action: string,
    body: unknown,
    signal: AdapterCallOptions["signal"],
    resource: "locks" | "semaphores" = "locks",
  ): Promise<{ status: number; json: Record<string, unknown>; response: Response }> {
    if (key === "." || key === "..") {
      throw new InvalidArgumentError(`key ${JSON.stringify(key)} cannot travel as a URL path segment`);
    }
    const url = `${base}/v1/${resource}/${encodeURIComponent(key)}${action}`;
    let response: Response;
    let text: string;
    try {
      response = await send(url, {
        method,
        headers: {
          authorization,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
      text = await response.text();
    } catch (cause) {
      throw fetchFailure(cause, `edgelock service ${what}`);
    }
    const json = parseObject(text);
    if (response.status === 200 || response.status === 409) {
      if (json) return { status: response.status, json, response };
      throw new BackendError(`edgelock service ${what} answered ${response.status} without a JSON object`, {
        maybeApplied: true,
        status: response.status,
        cause: text.slice(0, 200),
      });
    }
    throw errorFor(what, response.status, json, text);
  }

  return {
    capabilities,
    semaphores: httpSemaphores(
      (what, method, key, action, body, signal) => call(what, method, key, action, body, signal, "semaphores"),
      maxWaitMs,
    ),

    async acquire({ key, token, ttlMs, waitMs, owner, signal }): Promise<AdapterAcquireResult> {
      const wait = Math.min(waitMs ?? 0, maxWaitMs);
      const body = { ttlMs, ...(wait > 0 ? { waitMs: wait } : {}), ...(owner === undefined ? {} : { owner }), token };
      const { status, json, response } = await call("acquire", "POST", key, "/acquire", body, signal);
      if (status === 409 && json.error === "locked") {
        const retryAfterMs = json.retryAfterMs;
        return {
          ok: false,
          reason: "held",
          ...(typeof retryAfterMs === "number" && Number.isFinite(retryAfterMs) ? { retryAfterMs } : {}),
        };
      }
      const waited = Number(response.headers.get(WAITED_HEADER) ?? "0");
      return grant("acquire", status, json, token, Number.isFinite(waited) && waited > 0 ? waited : 0);
    },

    async extend({ key, token, ttlMs, signal }): Promise<AdapterExtendResult> {
      const { status, json } = await call("extend", "POST", key, "/extend", { token, ttlMs }, signal);
      if (status === 409 && json.error === "not_held") return { ok: false, reason: "not_held" };
      return grant("extend", status, json, token, 0);
    },

    async release({ key, token, signal }): Promise<AdapterReleaseResult> {
      const { status, json } = await call("release", "POST", key, "/release", { token }, signal);
      if (status === 409 && json.error === "not_held") return { ok: false, reason: "not_held" };
      if (status === 200 && json.released === true) return { ok: true };
      throw unreadable("release", status, json);
    },

    async inspect(key, options = {}): Promise<LockState> {
      const { status, json } = await call("inspect", "GET", key, "", undefined, options.signal);
      if (status === 200 && json.held === false) return { held: false };
      if (status === 200 && json.held === true && isFence(json.fence) && typeof json.expiresAt === "number") {
        return {
          held: true,
          fence: json.fence,
          expiresAt: json.expiresAt,
          ...(typeof json.owner === "string" ? { owner: json.owner } : {}),
        };
      }
      throw unreadable("inspect", status, json);
    },
  };
}

function grant(
  what: string,
  status: number,
  json: Record<string, unknown>,
  token: string,
  waitedMs: number,
): AdapterGrant {
  const { fence, ttlMs, expiresAt } = json;
  // A grant for another token would be someone else's lock: never accept it.
  if (status !== 200 || json.token !== token || !isFence(fence) || !isFence(ttlMs) || typeof expiresAt !== "number") {
    throw unreadable(what, status, json);
  }
  return { ok: true, fence, ttlMs, expiresAt, ...(waitedMs > 0 ? { waitedMs } : {}) };
}

function isFence(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    // Not JSON (a proxy's HTML error page): judged by status alone.
    return undefined;
  }
}

function unreadable(what: string, status: number, json: Record<string, unknown>): BackendError {
  return new BackendError(`edgelock service ${what} answered ${status} with an unexpected body`, {
    maybeApplied: true,
    status,
    cause: json,
  });
}

function errorFor(what: string, status: number, json: Record<string, unknown> | undefined, text: string): Error {
  const detail = typeof json?.message === "string" ? json.message : typeof json?.error === "string" ? json.error : "";
  const message = `edgelock service ${what} answered ${status}${detail ? `: ${detail}` : ""}`;
  const cause = json ?? text.slice(0, 200);
  if (status === 400 || status === 413) return new InvalidArgumentError(message, { cause });
  // Throttled before any work was done.
  if (status === 429) return new BackendError(message, { maybeApplied: false, status, cause });
  // A 5xx (or a gateway's) may come after the service acted.
  if (status >= 500) return new BackendError(message, { maybeApplied: true, status, cause });
  // 401, 403, 404 (wrong URL), 405 and anything else: retrying will not help.
  return new BackendRejectedError(message, { status, cause });
}
