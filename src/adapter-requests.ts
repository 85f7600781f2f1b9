/**
 * The requests the lock client hands its adapter on the hot path (acquire,
 * extend, release): plain fields, and a `signal` made only when the adapter
 * reads it. The accessor lives on the class: an object literal with its own
 * `get signal()` costs V8 microseconds to build (several in-memory
 * operations' worth), and making the signal itself costs more still.
 *
 * @module
 */
import type { AttemptSignal } from "./backend-call.js";
import type { AdapterAcquireRequest, AdapterExtendRequest, AdapterReleaseRequest } from "./types.js";

class AttemptRequest {
  readonly #attempt: AttemptSignal;

  constructor(attempt: AttemptSignal) {
    this.#attempt = attempt;
  }

  get signal(): AbortSignal {
    return this.#attempt.signal;
  }
}

export class ReleaseRequest extends AttemptRequest implements AdapterReleaseRequest {
  readonly key: string;
  readonly token: string;

  constructor(key: string, token: string, attempt: AttemptSignal) {
    super(attempt);
    this.key = key;
    this.token = token;
  }
}

export class ExtendRequest extends ReleaseRequest implements AdapterExtendRequest {
  readonly ttlMs: number;

  constructor(key: string, token: string, ttlMs: number, attempt: AttemptSignal) {
    super(key, token, attempt);
    this.ttlMs = ttlMs;
  }
}

export class AcquireRequest extends ExtendRequest implements AdapterAcquireRequest {
  readonly waitMs: number;
  readonly owner: string | undefined;

  constructor(
    key: string,
    token: string,
    ttlMs: number,
    waitMs: number,
    owner: string | undefined,
    attempt: AttemptSignal,
  ) {
    super(key, token, ttlMs, attempt);
    this.waitMs = waitMs;
    this.owner = owner;
  }
}
