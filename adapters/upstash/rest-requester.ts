import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";
import { BackendError, BackendRejectedError, fetchFailure } from "../../src/errors.js";

/** Where and how to reach an Upstash REST endpoint. */
export interface RestEndpoint {
  /** Base URL, without a trailing slash. */
  readonly url: string;
  readonly token: string;
  readonly fetch: typeof fetch;
}

/**
 * A `Requester` for `@upstash/redis` that sends through an injected `fetch`
 * and honours a per-call `AbortSignal`: `@upstash/redis` itself always calls
 * the global `fetch` and takes no per-command signal. It sends one request
 * per command, never retries (the lock client retries with the owner token)
 * and asks for plain JSON answers.
 *
 * Failures the HTTP layer can classify become edgelock errors here: 401/403
 * reject, 429 was not applied, 5xx and transport failures may have been.
 * A Redis error (400 with `{"error"}`) goes back to `@upstash/redis`, which
 * throws it as an `UpstashError`, exactly as with its own client.
 */
export function restRequester(endpoint: RestEndpoint, signal?: AbortSignal): Requester {
  return {
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      const url = [endpoint.url, ...(req.path ?? [])].join("/");
      const what = `Upstash request to ${url}`;
      let status: number | undefined;
      try {
        const response = await endpoint.fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${endpoint.token}` },
          body: JSON.stringify(req.body),
          signal: signal ?? null,
        });
        status = response.status;
        const text = await response.text();
        if (status === 401 || status === 403) {
          throw new BackendRejectedError(`${what} was refused (${status}): ${errorOf(text)}`, { status });
        }
        if (status === 429) {
          throw new BackendError(`${what} was rate-limited (429): ${errorOf(text)}`, { maybeApplied: false, status });
        }
        if (status >= 500) {
          throw new BackendError(`${what} failed (${status}): ${errorOf(text)}`, { maybeApplied: true, status });
        }
        const body = parse(text);
        if (status >= 200 && status < 300 && body && "result" in body) return { result: body.result as TResult };
        if (body && typeof body.error === "string") return { error: body.error };
        throw new BackendError(`${what}: unreadable answer (${status}): ${text.slice(0, 200)}`, {
          maybeApplied: true,
          status,
        });
      } catch (error) {
        throw fetchFailure(error, status === undefined ? what : `reading the answer of ${what}`);
      }
    },
  };
}

function parse(text: string): { result?: unknown; error?: unknown } | undefined {
  try {
    const body: unknown = JSON.parse(text);
    return typeof body === "object" && body !== null && !Array.isArray(body) ? body : undefined;
  } catch {
    return undefined;
  }
}

function errorOf(text: string): string {
  const body = parse(text);
  return typeof body?.error === "string" ? body.error : text.slice(0, 200);
}
