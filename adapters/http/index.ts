/**
 * `edgelock/http`: a {@link LockAdapter} that speaks the lock service's v1
 * contract, so `createLocker` works unchanged against a deployed service.
 *
 * @module
 */
import { InvalidArgumentError } from "../../src/errors.js";
import { WaitingSlots, waitingRequestLimit } from "../../src/internal/waiting-slots.js";
import type {
  AdapterAcquireResult,
  AdapterCapabilities,
  AdapterExtendResult,
  AdapterForceReleaseRequest,
  AdapterForceReleaseResult,
  AdapterReleaseResult,
  AdapterWriteResult,
  LockAdapter,
  LockState,
  StoredValue,
} from "../../src/types.js";
import { MAX_DURATION_MS, validateDuration } from "../../src/validate.js";
import { DEFAULT_MAX_WAIT_MS, MAX_SERVICE_VALUE_BYTES, WAITED_HEADER } from "./contract.js";
import { httpSemaphores } from "./semaphores.js";
import { grant, isCount, isPositive, RawJson, serviceCaller, unreadable, waitedMs } from "./service-call.js";

/** Default {@link HttpAdapterOptions.maxValueBytes}: what every edgelock backend takes. */
export const HTTP_DEFAULT_MAX_VALUE_BYTES = 65_536;

/** Options of {@link httpAdapter}. */
export interface HttpAdapterOptions {
  /** Base URL of the service, e.g. `https://locks.example.com` (a path prefix is kept). */
  readonly url: string;
  /** Bearer token configured in the service's `EDGELOCK_API_TOKENS`. */
  readonly token: string;
  /**
   * A token from the service's `EDGELOCK_ADMIN_TOKENS`: with it the adapter
   * has `forceRelease` (`POST /v1/locks/{key}/break`), sent with this token
   * only. Without it, breaking locks is not offered.
   */
  readonly adminToken?: string;
  /** Injectable `fetch`. Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /**
   * The service's `EDGELOCK_MAX_WAIT_MS` (default 30 000): longer waits are
   * sent as several requests of at most this long.
   */
  readonly maxWaitMs?: number;
  /**
   * At most this many waiting acquires (locks and semaphores together) of
   * this adapter are open at once; beyond that, an acquire asks without
   * waiting and the lock client polls it. Default 4 on Cloudflare Workers,
   * whose invocations get six connections waiting for answers at once (the
   * other two stay free, for the release that would wake a waiter), and no
   * limit elsewhere. `0`: every wait polls.
   */
  readonly maxWaitingRequests?: number;
  /** TTL bounds of the service's backend, if known; default: 1 ms to 2^31 − 1 ms, which the service enforces. */
  readonly ttl?: AdapterCapabilities["ttl"];
  /**
   * Extra safety margin subtracted from each lease's local deadline, ms:
   * set it to the backend's margin when the service runs over a
   * client-clock backend (DynamoDB) and you want the holder-side margin too.
   * Default 0 (the service's backend already applies its margin to contenders).
   */
  readonly clockSkewMarginMs?: number;
  /**
   * Largest guarded value to send, JSON bytes: the service's backend limit
   * if you know it (Upstash and DynamoDB 256 KiB, Azure Blob and Durable
   * Objects 1 MiB, the service's own cap). Default 65 536, which every
   * backend takes.
   */
  readonly maxValueBytes?: number;
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
  const maxValueBytes = options.maxValueBytes ?? HTTP_DEFAULT_MAX_VALUE_BYTES;
  if (
    !Number.isSafeInteger(maxValueBytes) ||
    maxValueBytes < HTTP_DEFAULT_MAX_VALUE_BYTES ||
    maxValueBytes > MAX_SERVICE_VALUE_BYTES
  ) {
    throw new InvalidArgumentError(
      `maxValueBytes must be an integer from ${HTTP_DEFAULT_MAX_VALUE_BYTES} to ${MAX_SERVICE_VALUE_BYTES}`,
    );
  }
  const authorization = `Bearer ${options.token}`;
  const adminToken = options.adminToken;
  if (adminToken !== undefined && (typeof adminToken !== "string" || adminToken === "" || /[\s,]/.test(adminToken))) {
    throw new InvalidArgumentError("adminToken must be a token from the service's EDGELOCK_ADMIN_TOKENS");
  }

  const call = serviceCaller(base, send, authorization);
  const waitingLimit = waitingRequestLimit(options.maxWaitingRequests);
  const slots = new WaitingSlots(waitingLimit);

  const capabilities: AdapterCapabilities = {
    name: "http",
    // The service's backend applies any skew margin to contenders; the lease
    // deadline counts from when this client sent the request, which no
    // backend clock can precede. See docs/http.md, "Whose clock decides".
    clock: margin > 0 ? "client" : "backend",
    clockSkewMarginMs: margin,
    ttl: options.ttl ?? { minMs: 1, maxMs: MAX_DURATION_MS, granularityMs: 1 },
    fencing: { native: true },
    pushWakeups: waitingLimit > 0,
    requestsPerOperation: { acquire: 1, extend: 1, release: 1, inspect: 1 },
    ...(adminToken === undefined ? {} : { forceRelease: { requests: 1 } }),
    guardedValue: { maxBytes: maxValueBytes, requestsPerOperation: { read: 1, write: 1 } },
  };

  return {
    capabilities,
    semaphores: httpSemaphores(
      (what, method, key, action, body, signal) => call(what, method, key, action, body, signal, "semaphores"),
      maxWaitMs,
      slots,
    ),

    async acquire({ key, token, ttlMs, waitMs, owner, signal }): Promise<AdapterAcquireResult> {
      const wait = Math.min(waitMs ?? 0, maxWaitMs);
      const { status, json, response } = await slots.send(wait > 0, (waiting) => {
        const body = { ttlMs, ...(waiting ? { waitMs: wait } : {}), ...(owner === undefined ? {} : { owner }), token };
        return call("acquire", "POST", key, "/acquire", body, signal);
      });
      if (status === 409 && json.error === "locked") {
        const retryAfterMs = json.retryAfterMs;
        return {
          ok: false,
          reason: "held",
          ...(typeof retryAfterMs === "number" && Number.isFinite(retryAfterMs) ? { retryAfterMs } : {}),
        };
      }
      return grant("acquire", status, json, token, waitedMs(response, WAITED_HEADER));
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

    ...(adminToken === undefined
      ? {}
      : {
          async forceRelease({ key, fence, signal }: AdapterForceReleaseRequest): Promise<AdapterForceReleaseResult> {
            const admin = `Bearer ${adminToken}`;
            const { status, json } = await call("break", "POST", key, "/break", { fence }, signal, "locks", admin);
            if (status === 409 && json.error === "not_held") return { ok: false, reason: "not_held" };
            if (status === 200 && json.released === true) return { ok: true };
            throw unreadable("break", status, json);
          },
        }),

    async inspect(key, options = {}): Promise<LockState> {
      const { status, json } = await call("inspect", "GET", key, "", undefined, options.signal);
      if (status === 200 && json.held === false) return { held: false };
      if (status === 200 && json.held === true && isPositive(json.fence) && typeof json.expiresAt === "number") {
        return {
          held: true,
          fence: json.fence,
          expiresAt: json.expiresAt,
          ...(typeof json.owner === "string" ? { owner: json.owner } : {}),
        };
      }
      throw unreadable("inspect", status, json);
    },

    async readValue(key, options = {}): Promise<StoredValue> {
      const { status, json } = await call("read value", "GET", key, "/value", undefined, options.signal);
      const { version, fence } = json;
      if (status === 200 && isCount(version) && isCount(fence)) {
        return { json: "value" in json ? JSON.stringify(json.value) : undefined, version, fence };
      }
      throw unreadable("read value", status, json);
    },

    async writeValue({ key, token, json: text, writeId, expectedVersion, signal }): Promise<AdapterWriteResult> {
      // The JSON text goes into the body as it is: it was validated by the lock client.
      const head = JSON.stringify({ token, writeId, ...(expectedVersion === undefined ? {} : { expectedVersion }) });
      const body = new RawJson(
        text === null ? `${head.slice(0, -1)},"delete":true}` : `${head.slice(0, -1)},"value":${text}}`,
      );
      const { status, json } = await call("write value", "PUT", key, "/value", body, signal);
      if (status === 200 && isCount(json.version) && isCount(json.fence)) {
        return { ok: true, version: json.version, fence: json.fence };
      }
      if (status === 409 && json.error === "not_held") return { ok: false, reason: "not_held" };
      if (status === 409 && json.error === "version_conflict" && isCount(json.version)) {
        return { ok: false, reason: "version_mismatch", version: json.version };
      }
      throw unreadable("write value", status, json);
    },
  };
}
