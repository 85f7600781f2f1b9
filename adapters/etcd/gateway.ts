/**
 * The etcd v3 JSON gateway over an injected `fetch`: one POST per call,
 * optional token auth, and the mapping of its error answers (gRPC status
 * codes in a JSON body) to edgelock errors.
 *
 * @module
 */
import { BackendError, BackendRejectedError, type EdgelockError, fetchFailure } from "../../src/errors.js";
import { untilAborted } from "../../src/internal/abandon.js";
import { statusFailure } from "../../src/internal/http-failure.js";
import { jsonObject } from "../../src/internal/json-object.js";

/** User name and password for etcd's token auth (`/v3/auth/authenticate`). */
export interface EtcdCredentials {
  readonly username: string;
  readonly password: string;
}

/** One gateway call. */
export interface GatewayCall {
  /** Path under the endpoint, e.g. `/v3/kv/txn`. */
  readonly path: string;
  readonly body: unknown;
  readonly signal?: AbortSignal | undefined;
  /** What the call does, for error messages (never a token or a key's value). */
  readonly what: string;
  /** Whether the call writes: a failure in flight may then have been applied. */
  readonly mutating: boolean;
}

/** An etcd error answer: `{"error", "message", "code"}` with a gRPC status code. */
interface ErrorAnswer {
  readonly status: number;
  readonly code: number | undefined;
  readonly message: string;
}

// The gRPC code of a lease that ran out (see answerError).
const NOT_FOUND = 5;

/**
 * HTTP status of each gRPC code, as etcd 3.4's gateway (grpc-gateway v1,
 * `HTTPStatusFromCode`) answers it; applied also when a 200 carries an
 * error. FAILED_PRECONDITION is 400 there, not 412; a code not listed keeps
 * the answer's own status.
 */
const GATEWAY_STATUS: Readonly<Record<number, number>> = {
  1: 408, // CANCELLED
  2: 500, // UNKNOWN
  3: 400, // INVALID_ARGUMENT (also a request too large)
  4: 504, // DEADLINE_EXCEEDED
  5: 404, // NOT_FOUND
  6: 409, // ALREADY_EXISTS
  7: 403, // PERMISSION_DENIED
  8: 429, // RESOURCE_EXHAUSTED (too many requests)
  9: 400, // FAILED_PRECONDITION
  10: 409, // ABORTED
  11: 400, // OUT_OF_RANGE (a compacted revision)
  12: 501, // UNIMPLEMENTED
  13: 500, // INTERNAL
  14: 503, // UNAVAILABLE (no leader, request timed out, leader changed)
  15: 500, // DATA_LOSS
  16: 401, // UNAUTHENTICATED
};

/** Sends gateway calls to one etcd endpoint. */
export class EtcdGateway {
  readonly #endpoint: string;
  readonly #fetch: typeof fetch;
  readonly #credentials: EtcdCredentials | undefined;
  // The current auth token, shared by concurrent calls; undefined until needed.
  #authToken: Promise<string> | undefined;
  // What #authToken resolved to, so that a refusal of an older token does not discard a newer one.
  #authTokenValue: string | undefined;
  // Whether #authToken has settled.
  #authSettled = false;
  // An authentication a caller gave up on, still running: the next one races it.
  #abandoned: Promise<string> | undefined;

  constructor(endpoint: string, fetchImpl: typeof fetch, credentials?: EtcdCredentials) {
    this.#endpoint = endpoint;
    this.#fetch = fetchImpl;
    this.#credentials = credentials;
  }

  /**
   * Send one call and resolve with its JSON answer. With credentials, an
   * answer saying the auth token is invalid or expired (never applied) leads
   * to one fresh authentication and one resend; a second such answer is a
   * retryable, not-applied failure.
   */
  async call<T>(call: GatewayCall): Promise<T> {
    if (this.#credentials === undefined) return this.#send<T>(call, undefined);
    const token = await this.#token(call.signal);
    try {
      return await this.#send<T>(call, token);
    } catch (error) {
      if (!(error instanceof StaleAuthToken)) throw error;
      if (this.#authTokenValue === token) {
        this.#authToken = undefined;
        this.#authTokenValue = undefined;
      }
      const fresh = await this.#token(call.signal);
      return await this.#send<T>(call, fresh).catch((again: unknown) => {
        if (!(again instanceof StaleAuthToken)) throw again;
        // Credentials etcd refuses fail at authenticate; a fresh token refused
        // too outlived its TTL on the way (a busy member or client) or met
        // another user or role change: transient, and nothing was applied.
        throw new BackendError(`${call.what} failed: etcd refused a fresh auth token too (${again.answer.message})`, {
          status: again.answer.status,
          cause: again.answer,
          maybeApplied: false,
        });
      });
    }
  }

  #token(signal: AbortSignal | undefined): Promise<string> {
    const credentials = this.#credentials;
    if (credentials === undefined) return Promise.reject(new Error("no credentials"));
    if (this.#authToken === undefined) {
      // Not tied to one caller's signal: concurrent calls share the token.
      const fresh = this.#send<{ token?: string }>(
        {
          path: "/v3/auth/authenticate",
          body: { name: credentials.username, password: credentials.password },
          what: "authenticate with etcd",
          mutating: false,
          signal: AbortSignal.timeout(10_000),
        },
        undefined,
      ).then((answer) => {
        if (typeof answer.token !== "string" || answer.token === "") {
          throw new BackendError("etcd answered authenticate without a token", { maybeApplied: false });
        }
        return answer.token;
      });
      const earlier = this.#abandoned;
      this.#abandoned = undefined;
      const pending = (earlier === undefined ? fresh : firstFulfilled(earlier, fresh)).then((token) => {
        if (this.#authToken === pending) {
          this.#authTokenValue = token;
          this.#authSettled = true;
        }
        return token;
      });
      this.#authToken = pending;
      this.#authSettled = false;
      pending.catch(() => {
        if (this.#authToken === pending) this.#authToken = undefined;
      });
    }
    const current = this.#authToken;
    // A caller that gives up on a slow authentication (its timeout) lets the
    // next call start a fresh one, which races the slow one instead of
    // replacing it: a lost answer is overtaken, and a slow one (etcd hashing
    // the password on a busy member) is not thrown away for one queued behind it.
    return untilAborted(current, signal, (reason) => {
      if (this.#authToken === current && !this.#authSettled) {
        this.#authToken = undefined;
        this.#abandoned = current;
      }
      return fetchFailure(reason, "authenticate with etcd");
    });
  }

  /**
   * Open a call whose answer streams (`/v3/watch`) and hand back its body,
   * read by the caller until `call.signal` aborts. Never retried: a watch
   * applies nothing, so a failure only costs the caller its wake-up.
   */
  async stream(call: GatewayCall): Promise<ReadableStream<Uint8Array>> {
    const token = this.#credentials === undefined ? undefined : await this.#token(call.signal);
    let response: Response;
    try {
      response = await this.#post(call, token);
    } catch (cause) {
      throw fetchFailure(cause, call.what);
    }
    if (response.ok && response.body !== null) return response.body;
    void response.body?.cancel().catch(() => undefined);
    throw new BackendError(`${call.what} failed (HTTP ${response.status})`, {
      status: response.status,
      maybeApplied: false,
    });
  }

  #post(call: GatewayCall, token: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token !== undefined) headers.authorization = token;
    return this.#fetch(`${this.#endpoint}${call.path}`, {
      method: "POST",
      headers,
      body: JSON.stringify(call.body),
      signal: call.signal,
    });
  }

  async #send<T>(call: GatewayCall, token: string | undefined): Promise<T> {
    let response: Response;
    let text: string;
    try {
      response = await this.#post(call, token);
      text = await response.text();
    } catch (cause) {
      throw fetchFailure(cause, call.what);
    }
    const parsed = jsonObject(text);
    if (response.ok && parsed !== undefined && !("error" in parsed)) return parsed as T;
    const answer: ErrorAnswer = {
      status: response.status,
      code: typeof parsed?.code === "number" ? parsed.code : undefined,
      // Only etcd's own message: a proxy's page could echo the request, token included.
      message: typeof parsed?.message === "string" ? parsed.message : `a non-JSON answer of ${text.length} characters`,
    };
    if (token !== undefined && isStaleToken(answer)) throw new StaleAuthToken(answer);
    throw answerError(answer, call.what, call.mutating);
  }
}

/** An answer saying the auth token is no longer valid; the call was not applied. */
class StaleAuthToken extends Error {
  constructor(readonly answer: ErrorAnswer) {
    super(answer.message);
  }
}

/**
 * etcd refused the token, before applying anything: it expired or the member
 * restarted (`invalid auth token`), or users or roles changed since it was
 * issued (`revision of auth store is old`). A fresh token fixes both.
 */
function isStaleToken(answer: ErrorAnswer): boolean {
  return /invalid auth token|auth store is old/i.test(answer.message);
}

/**
 * The edgelock error for an etcd error answer: the gRPC code, where there is
 * one, stands for the HTTP status etcd's gateway (grpc-gateway v1) gives it,
 * and that status goes through the shared mapping of `http-failure.ts`, so
 * etcd judges a 5xx or a 429 as every HTTP adapter does. One deliberate
 * difference: `NOT_FOUND` (HTTP 404) is a lease that ran out between its
 * grant and the transaction using it, which did not apply and which a new
 * attempt (a new lease) fixes: not applied and retryable, where the shared
 * mapping calls a 404 rejected.
 */
export function answerError(answer: ErrorAnswer, what: string, mutating: boolean): EdgelockError {
  const detail = `HTTP ${answer.status}${answer.code === undefined ? "" : `, gRPC code ${answer.code}`}: ${answer.message}`;
  const status = (answer.code === undefined ? undefined : GATEWAY_STATUS[answer.code]) ?? answer.status;
  if (answer.code === NOT_FOUND) {
    return new BackendError(`${what} failed (${detail})`, { status, cause: answer, maybeApplied: false });
  }
  if (status === 401 || status === 403) return rejected(answer, what);
  return statusFailure(status, `${what} failed in etcd (${detail})`, { mutating, cause: answer });
}

function rejected(answer: ErrorAnswer, what: string): BackendRejectedError {
  return new BackendRejectedError(
    `${what} was refused by etcd (HTTP ${answer.status}: ${answer.message}); check the user name, password and the user's role`,
    { status: answer.status, cause: answer },
  );
}

/** The first of two tokens to arrive; a failure only once both failed (the later failure). */
function firstFulfilled(a: Promise<string>, b: Promise<string>): Promise<string> {
  return new Promise((resolve, reject) => {
    let failed = 0;
    const fail = (error: unknown) => {
      if (++failed === 2) reject(error);
    };
    a.then(resolve, fail);
    b.then(resolve, fail);
  });
}
