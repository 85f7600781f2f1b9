/**
 * The few Blob service REST calls the adapter makes, over an injected
 * `fetch`, with SharedKey, SAS or bearer authorisation, and the mapping of
 * Azure's error answers to edgelock errors.
 *
 * @module
 */
import { BackendRejectedError, type EdgelockError } from "../../src/errors.js";
import { statusFailure, transportFailure } from "../../src/internal/http-failure.js";
import type { SharedKeySigner } from "./shared-key.js";

/**
 * Blob service REST version sent as `x-ms-version`. Supported by Azure and by
 * Azurite 3.35 (which then needs no `--skipApiVersionCheck` for this adapter).
 */
export const AZURE_API_VERSION = "2024-11-04";

/** How requests are authorised. */
export type BlobAuth =
  | { readonly kind: "shared-key"; readonly signer: SharedKeySigner }
  | { readonly kind: "sas"; readonly query: URLSearchParams }
  | { readonly kind: "bearer"; readonly token: (signal?: AbortSignal) => string | Promise<string> };

/** An answer from the Blob service, body already read. */
export interface BlobAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** `x-ms-error-code`, or the `<Code>` of the XML error body. */
  readonly code: string | undefined;
  readonly message: string | undefined;
  /** The body as text (a blob's content for a successful GET). */
  readonly text: string;
}

export interface BlobRequest {
  readonly method: "GET" | "HEAD" | "PUT";
  /** Path under the endpoint: `container` or `container/blob` (already URL-safe). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  /** Body of a PUT (a blob's content); none by default. */
  readonly body?: Uint8Array<ArrayBuffer> | undefined;
  /** What the request does, for error messages: "acquire lease on …". */
  readonly what: string;
}

/** Sends Blob service requests for one endpoint. */
export class BlobRest {
  readonly endpoint: string;
  readonly #auth: BlobAuth;
  readonly #fetch: typeof fetch;
  // The service's clock minus ours, from the latest answer's Date header.
  #offsetMs = 0;

  constructor(endpoint: string, auth: BlobAuth, fetchImpl: typeof fetch) {
    this.endpoint = endpoint;
    this.#auth = auth;
    this.#fetch = fetchImpl;
  }

  /**
   * The service's time now, estimated from the latest answer (its Date header
   * has whole seconds, so this runs up to a second early).
   */
  serviceNow(): number {
    return Date.now() + this.#offsetMs;
  }

  /** Send one request. Resolves with any HTTP answer; rejects only in transit. */
  async send(request: BlobRequest): Promise<BlobAnswer> {
    const url = new URL(`${this.endpoint}/${request.path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, value);
    if (this.#auth.kind === "sas") for (const [name, value] of this.#auth.query) url.searchParams.append(name, value);

    const headers = new Headers(request.headers);
    headers.set("x-ms-date", new Date().toUTCString());
    headers.set("x-ms-version", AZURE_API_VERSION);
    // An empty body gives PUTs the Content-Length: 0 that Azure insists on, on
    // every runtime; a zero length is signed as an empty string, like none.
    const body = request.method === "PUT" ? (request.body ?? new Uint8Array(0)) : undefined;
    // The length is signed; fetch sets the header itself from the body.
    const signed = new Headers(headers);
    if (body && body.byteLength > 0) signed.set("content-length", String(body.byteLength));

    let response: Response;
    try {
      if (this.#auth.kind === "shared-key") {
        headers.set("authorization", await this.#auth.signer.authorization(request.method, url, signed));
      } else if (this.#auth.kind === "bearer") {
        headers.set("authorization", `Bearer ${await this.#auth.token(request.signal)}`);
      }
      response = await this.#fetch(url, { method: request.method, headers, body, signal: request.signal });
    } catch (cause) {
      throw transportFailure(cause, request.what);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      throw transportFailure(cause, request.what);
    }
    const date = Date.parse(response.headers.get("date") ?? "");
    if (Number.isFinite(date)) this.#offsetMs = date - Date.now();
    const code = response.headers.get("x-ms-error-code") ?? xmlField(text, "Code");
    const ok = response.status >= 200 && response.status < 300;
    return {
      status: response.status,
      headers: response.headers,
      code,
      message: ok ? undefined : xmlField(text, "Message"),
      text,
    };
  }
}

/**
 * The error for an answer the caller did not expect, by the shared HTTP
 * mapping (`internal/http-failure.ts`), with Azure's hints for the two
 * mistakes users make: credentials and a missing container. The cause keeps
 * the status, code and message, not the headers (they echo the lease id,
 * which is the owner token in GUID form).
 */
export function answerError(answer: BlobAnswer, what: string, mutating: boolean): EdgelockError {
  const detail = `${answer.status}${answer.code ? ` ${answer.code}` : ""}${answer.message ? `: ${answer.message.split("\n")[0]}` : ""}`;
  const status = answer.status;
  const cause = { status, code: answer.code, message: answer.message };
  if (status === 401 || status === 403) {
    return new BackendRejectedError(
      `${what} was refused (${detail}); check the account key, SAS permissions or bearer token`,
      { status, cause },
    );
  }
  if (answer.code === "ContainerNotFound") {
    return new BackendRejectedError(
      `${what} failed: the container does not exist (${detail}); create it, or pass createContainer: true`,
      { status, cause },
    );
  }
  const text =
    status === 429
      ? `${what} was throttled (${detail})`
      : status >= 400 && status < 500 && status !== 408
        ? `${what} was rejected (${detail})`
        : status >= 400
          ? `${what} failed (${detail})`
          : `${what} got an answer edgelock cannot interpret (${detail})`;
  return statusFailure(status, text, { mutating, cause });
}

/** The service's clock at the answer (the `Date` header), else ours. */
export function serverNow(answer: BlobAnswer): number {
  const date = Date.parse(answer.headers.get("date") ?? "");
  return Number.isFinite(date) ? date : Date.now();
}

function xmlField(text: string, field: string): string | undefined {
  const match = new RegExp(`<${field}>([^<]*)</${field}>`).exec(text);
  return match?.[1];
}
