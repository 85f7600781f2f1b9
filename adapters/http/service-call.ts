/**
 * One request to the service and the reading of its answer, shared by the
 * lock and semaphore halves of `edgelock/http`.
 *
 * @module
 */
import { BackendError, InvalidArgumentError, UnsupportedError } from "../../src/errors.js";
import { statusFailure, transportFailure } from "../../src/internal/http-failure.js";
import { jsonObject } from "../../src/internal/json-object.js";
import type { AdapterCallOptions, AdapterGrant } from "../../src/types.js";

/** The service's answer: 200 or 409 with a JSON object (anything else throws). */
export interface ServiceAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly response: Response;
}

/** Send one request to `/v1/{resource}/{key}{action}`. */
export type ServiceCall = (
  what: string,
  method: "GET" | "POST" | "PUT",
  key: string,
  action: string,
  body: unknown,
  signal: AdapterCallOptions["signal"],
  resource?: "locks" | "semaphores",
  bearer?: string,
) => Promise<ServiceAnswer>;

/** The {@link ServiceCall} of one adapter: its base URL, `fetch` and default bearer. */
export function serviceCaller(base: string, send: typeof fetch, authorization: string): ServiceCall {
  return async (what, method, key, action, body, signal, resource = "locks", bearer = authorization) => {
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
          authorization: bearer,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: body instanceof RawJson ? body.text : JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
      text = await response.text();
    } catch (cause) {
      throw transportFailure(cause, `edgelock service ${what}`);
    }
    // Not JSON (a proxy's HTML error page): judged by status alone.
    const json = jsonObject(text);
    if (response.status === 200 || response.status === 409) {
      if (json) return { status: response.status, json, response };
      throw new BackendError(`edgelock service ${what} answered ${response.status} without a JSON object`, {
        maybeApplied: true,
        status: response.status,
        cause: text.slice(0, 200),
      });
    }
    throw errorFor(what, method === "POST", response.status, json, text);
  };
}

/** A body already serialised. */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export function isPositive(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/** A grant for `token`, or the answer is unreadable: a grant for another token would be someone else's lock or permit. */
export function grant(
  what: string,
  status: number,
  json: Record<string, unknown>,
  token: string,
  waitedMs: number,
): AdapterGrant {
  const { fence, ttlMs, expiresAt } = json;
  if (
    status !== 200 ||
    json.token !== token ||
    !isPositive(fence) ||
    !isPositive(ttlMs) ||
    typeof expiresAt !== "number"
  ) {
    throw unreadable(what, status, json);
  }
  return { ok: true, fence, ttlMs, expiresAt, ...(waitedMs > 0 ? { waitedMs } : {}) };
}

/** How long the service says it queued the request, from its header; 0 when absent. */
export function waitedMs(response: Response, header: string): number {
  const waited = Number(response.headers.get(header) ?? "0");
  return Number.isFinite(waited) && waited > 0 ? waited : 0;
}

export function unreadable(what: string, status: number, json: Record<string, unknown>): BackendError {
  return new BackendError(`edgelock service ${what} answered ${status} with an unexpected body`, {
    maybeApplied: true,
    status,
    cause: json,
  });
}

function errorFor(
  what: string,
  mutating: boolean,
  status: number,
  json: Record<string, unknown> | undefined,
  text: string,
): Error {
  const detail = typeof json?.message === "string" ? json.message : typeof json?.error === "string" ? json.error : "";
  const message = `edgelock service ${what} answered ${status}${detail ? `: ${detail}` : ""}`;
  if (status === 501 && json?.error === "unsupported") return new UnsupportedError(message);
  // The service validates the caller's own arguments, so its 400 and 413 are the caller's fault.
  return statusFailure(status, message, {
    mutating,
    badRequest: "invalid-argument",
    cause: json ?? text.slice(0, 200),
  });
}
