import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";
import { BackendError } from "../../src/errors.js";
import { statusFailure, transportFailure } from "../../src/internal/http-failure.js";
import type { CommandBatcher } from "./command-batcher.js";

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
 * the global `fetch` and takes no per-command signal. Single commands go
 * through `batcher`, which sends commands issued together as one `/pipeline`
 * request. It never retries (the lock client retries with the owner token)
 * and asks for plain JSON answers.
 */
export function restRequester(endpoint: RestEndpoint, batcher: CommandBatcher, signal?: AbortSignal): Requester {
  return {
    request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      const sent = req.path?.length
        ? postCommand(endpoint, req.path, req.body, signal)
        : batcher.send(req.body, signal);
      return sent as Promise<UpstashResponse<TResult>>;
    },
  };
}

/** Send one command (or a request to another path) and read its `{result}` or `{error}`. */
export async function postCommand(
  endpoint: RestEndpoint,
  path: string[],
  body: unknown,
  signal?: AbortSignal,
): Promise<UpstashResponse<unknown>> {
  const { what, status, text, json } = await post(endpoint, path, body, signal);
  const answer = readAnswer(json);
  if (answer && (status < 300 || "error" in answer)) return answer;
  throw new BackendError(`${what}: unreadable answer (${status}): ${text.slice(0, 200)}`, {
    maybeApplied: true,
    status,
  });
}

/** Send several commands as one `/pipeline` request; one answer per command, in order. */
export async function postPipeline(
  endpoint: RestEndpoint,
  commands: unknown[],
  signal?: AbortSignal,
): Promise<UpstashResponse<unknown>[]> {
  const { what, status, text, json } = await post(endpoint, ["pipeline"], commands, signal);
  const answers = Array.isArray(json) && status < 300 ? json.map(readAnswer) : [];
  if (answers.length === commands.length && answers.every((answer) => answer !== undefined)) {
    return answers as UpstashResponse<unknown>[];
  }
  throw new BackendError(`${what}: unreadable answer (${status}): ${text.slice(0, 200)}`, {
    maybeApplied: true,
    status,
  });
}

/**
 * POST JSON and classify what the HTTP layer can, by the shared mapping
 * (`internal/http-failure.ts`): 401/403 reject, 429 was not applied, 408,
 * 5xx and transport failures may have been. A Redis error (400 with
 * `{"error"}`) is left to the caller, which hands it back to
 * `@upstash/redis` to throw as an `UpstashError`, exactly as its own client;
 * any other 4xx (a wrong URL) is rejected.
 */
async function post(endpoint: RestEndpoint, path: string[], body: unknown, signal?: AbortSignal) {
  const url = [endpoint.url, ...path].join("/");
  const what = `Upstash request to ${url}`;
  let status: number | undefined;
  try {
    const response = await endpoint.fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${endpoint.token}` },
      body: JSON.stringify(body),
      signal: signal ?? null,
    });
    status = response.status;
    const text = await response.text();
    const json = parse(text);
    const redisError = status === 400 && readAnswer(json)?.error !== undefined;
    if (status >= 300 && !redisError) {
      const message = `${what} ${status === 429 ? "was rate-limited" : status < 500 ? "was refused" : "failed"} (${status}): ${errorOf(text)}`;
      throw statusFailure(status, message, { mutating: true });
    }
    return { what, status, text, json };
  } catch (error) {
    throw transportFailure(error, status === undefined ? what : `reading the answer of ${what}`);
  }
}

/** `{result}` or `{error: string}`, else undefined. */
function readAnswer(value: unknown): UpstashResponse<unknown> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  if ("result" in value) return { result: value.result };
  if ("error" in value && typeof value.error === "string") return { error: value.error };
  return undefined;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorOf(text: string): string {
  const body = parse(text);
  return typeof body === "object" && body !== null && "error" in body && typeof body.error === "string"
    ? body.error
    : text.slice(0, 200);
}
