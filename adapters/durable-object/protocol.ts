/**
 * What travels over RPC between the adapter and {@link LockDurableObject}:
 * plain structured-clone values, so the same shapes serve the HTTP service
 * and any caller that holds a stub. Kept free of `cloudflare:workers` so Node
 * can import the adapter.
 *
 * @module
 */

/** An acquire as the object receives it. */
export interface AcquireCall {
  readonly token: string;
  readonly ttlMs: number;
  /** How long the object may queue the request; `0` answers at once. */
  readonly waitMs?: number | undefined;
  readonly owner?: string | undefined;
}

/** An extend as the object receives it. */
export interface ExtendCall {
  readonly token: string;
  readonly ttlMs: number;
}

/** A release or a cancel as the object receives it. */
export interface TokenCall {
  readonly token: string;
}

/** A force release (an operator's break) as the object receives it: the fence of the holder to free. */
export interface ForceReleaseCall {
  readonly fence: number;
}

/** A grant, with `waitedMs` when the request was queued. */
export interface GrantAnswer {
  readonly ok: true;
  readonly fence: number;
  readonly ttlMs: number;
  readonly expiresAt: number;
  readonly waitedMs?: number;
}

/** The object refused the call's arguments; nothing was applied. */
export interface InvalidAnswer {
  readonly ok: false;
  readonly reason: "invalid_argument";
  readonly message: string;
}

export type AcquireAnswer =
  | GrantAnswer
  | { readonly ok: false; readonly reason: "held"; readonly retryAfterMs?: number }
  /** The queued request was withdrawn by `cancel`, `release` or a retry with the same token. */
  | { readonly ok: false; readonly reason: "cancelled" }
  | InvalidAnswer;

export type ExtendAnswer = GrantAnswer | { readonly ok: false; readonly reason: "not_held" } | InvalidAnswer;

export type ReleaseAnswer = { readonly ok: true } | { readonly ok: false; readonly reason: "not_held" } | InvalidAnswer;

export type InspectAnswer = (
  | { readonly held: true; readonly fence: number; readonly expiresAt: number; readonly owner?: string }
  | { readonly held: false }
) & {
  /** Acquires waiting in the object's queue (operations and tests; the adapter's `inspect` does not pass it on). */
  readonly waiting: number;
};

/** A guarded-value write as the object receives it (`json: null` deletes). */
export interface WriteValueCall {
  readonly token: string;
  readonly json: string | null;
  readonly writeId: string;
  readonly expectedVersion?: number;
}

export type WriteValueAnswer =
  | { readonly ok: true; readonly version: number; readonly fence: number }
  | { readonly ok: false; readonly reason: "not_held" }
  | { readonly ok: false; readonly reason: "version_mismatch"; readonly version: number }
  | InvalidAnswer;

/** The guarded value as the object stores it; `json` absent when never written or deleted. */
export interface ReadValueAnswer {
  readonly json?: string;
  readonly version: number;
  readonly fence: number;
}

/** Largest guarded value the object stores, bytes of JSON (1 MiB; SQLite-backed storage takes 2 MB a value). */
export const DURABLE_OBJECT_MAX_VALUE_BYTES = 1_048_576;

/** Whether a `cancel` found the token queued. */
export interface CancelAnswer {
  readonly cancelled: boolean;
}

/**
 * Where a waiting acquire is sent with `stub.fetch`: unlike an RPC call, a
 * fetch carries the caller's `AbortSignal` into the object (with the
 * `enable_request_signal` compatibility flag), so a waiter whose caller gives
 * up or goes away leaves the queue. Body: {@link AcquireCall} as JSON; answer:
 * {@link AcquireAnswer} as JSON.
 */
export const WAIT_URL = "https://lock.edgelock.invalid/acquire";

/** The RPC methods of the object. */
export interface LockObjectRpc {
  acquire(call: AcquireCall): Promise<AcquireAnswer>;
  extend(call: ExtendCall): Promise<ExtendAnswer>;
  release(call: TokenCall): Promise<ReleaseAnswer>;
  inspect(): Promise<InspectAnswer>;
  forceRelease(call: ForceReleaseCall): Promise<ReleaseAnswer>;
  cancel(call: TokenCall): Promise<CancelAnswer>;
  readValue(): Promise<ReadValueAnswer>;
  writeValue(call: WriteValueCall): Promise<WriteValueAnswer>;
}

/** A stub of the object, as the adapter uses it: the RPC methods plus `fetch` to {@link WAIT_URL}. */
export interface LockObjectStub extends LockObjectRpc {
  fetch(url: string, init: RequestInit): Promise<Response>;
}
