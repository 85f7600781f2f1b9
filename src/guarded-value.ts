/**
 * The guarded value: one small JSON value per lock key, readable by anyone,
 * written only by the lock's current holder, the holder check made by the
 * backend in the same request as the write. The lock client's side: value
 * validation, retries that are applied once (a write id), and the typed
 * refusals.
 *
 * @module
 */
import type { AttemptSignal } from "./backend-call.js";
import {
  BackendError,
  EdgelockError,
  InvalidArgumentError,
  StaleWriteError,
  UnsupportedError,
  VersionConflictError,
} from "./errors.js";
import { newToken } from "./token.js";
import type { AdapterWriteResult, GuardedValueCapabilities, LockAdapter, StoredValue } from "./types.js";
import { utf8Length, validateOptions, validateSignal } from "./validate.js";

/** Smallest `maxBytes` an adapter may declare (64 KiB). */
export const MIN_GUARDED_VALUE_BYTES = 65_536;
/** Deepest nesting of arrays and objects accepted in a value. */
export const MAX_VALUE_DEPTH = 64;

/** What {@link Locker.read} answers. */
export interface ValueRead<T = unknown> {
  /** The value as last written; `undefined` if never written or deleted. */
  readonly value: T | undefined;
  /** Version of the last write or deletion: rises on every write, never repeats; 0 if never written. */
  readonly version: number;
  /** Fence of the lease that made the last write; 0 if never written. */
  readonly fence: number;
}

/** Options of `lease.write` and `lease.deleteValue`. */
export interface WriteOptions {
  /** Compare-and-set: apply only if the stored version is this one (0: never written). */
  readonly expectedVersion?: number;
  /** Cancels the write (which may still have been applied: see {@link StaleWriteError}). */
  readonly signal?: AbortSignal;
}

/** What a guarded write answers. */
export interface WriteResult {
  /** Version the write got. */
  readonly version: number;
  /** The writer's fence, stored with the value. */
  readonly fence: number;
}

/** Options of `lease.update`. */
export interface UpdateOptions {
  /** Reads and compare-and-set writes tried before a {@link VersionConflictError} is thrown. Default 5. */
  readonly attempts?: number;
  readonly signal?: AbortSignal;
}

/** What the guarded value needs from the lock client. */
export interface GuardedContext {
  readonly adapter: LockAdapter;
  call<T>(operation: (attempt: AttemptSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/** The adapter's guarded-value capability, or an {@link UnsupportedError}. */
export function guardedCapability(adapter: LockAdapter): GuardedValueCapabilities {
  const caps = adapter.capabilities.guardedValue;
  if (!caps || typeof adapter.readValue !== "function" || typeof adapter.writeValue !== "function") {
    throw new UnsupportedError(`the ${adapter.capabilities.name} adapter has no guarded value`);
  }
  return caps;
}

/**
 * JSON text of a value, or an {@link InvalidArgumentError}: only what JSON
 * round-trips unchanged is accepted (null, booleans, finite numbers, strings,
 * arrays, plain objects), so a read returns what was written.
 */
export function serializeValue(value: unknown, maxBytes: number): string {
  checkJson(value, 0, new Set());
  const json = JSON.stringify(value);
  const bytes = utf8Length(json);
  if (bytes > maxBytes) {
    throw new InvalidArgumentError(`value is ${bytes} bytes of JSON, more than this adapter's ${maxBytes}`);
  }
  return json;
}

function checkJson(value: unknown, depth: number, seen: Set<object>): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw new InvalidArgumentError(`value contains ${value}, which JSON cannot hold`);
      return;
    case "object": {
      if (value === null) return;
      if (depth >= MAX_VALUE_DEPTH) throw new InvalidArgumentError(`value nests deeper than ${MAX_VALUE_DEPTH}`);
      if (seen.has(value)) throw new InvalidArgumentError("value contains a cycle");
      seen.add(value);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) checkJson(value[i], depth + 1, seen);
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          const name = (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
          throw new InvalidArgumentError(`value contains a ${name}; only plain objects, arrays and primitives`);
        }
        for (const item of Object.values(value)) checkJson(item, depth + 1, seen);
      }
      seen.delete(value);
      return;
    }
    default:
      throw new InvalidArgumentError(`value contains a ${typeof value}, which JSON cannot hold`);
  }
}

/** A version as the caller gives it. */
function validateVersion(version: unknown): number {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0) {
    throw new InvalidArgumentError(`expectedVersion must be a non-negative safe integer, got ${String(version)}`);
  }
  return version;
}

/** Read and parse the stored value. */
export async function readValue<T>(
  ctx: GuardedContext,
  backendKey: string,
  signal: AbortSignal | undefined,
): Promise<ValueRead<T>> {
  guardedCapability(ctx.adapter);
  const read = ctx.adapter.readValue as (key: string, options: { signal: AbortSignal }) => Promise<StoredValue>;
  // The attempt's signal is made only if the adapter asks for it.
  const stored = await ctx.call(
    (attempt) =>
      read.call(ctx.adapter, backendKey, {
        get signal() {
          return attempt.signal;
        },
      }),
    signal,
  );
  return parseStored<T>(stored);
}

function parseStored<T>(stored: StoredValue): ValueRead<T> {
  const { json, version, fence } = stored ?? ({} as StoredValue);
  if (
    !Number.isSafeInteger(version) ||
    !Number.isSafeInteger(fence) ||
    (json !== undefined && typeof json !== "string")
  ) {
    throw new BackendError(`the stored value is unreadable (${JSON.stringify(stored)?.slice(0, 200)})`, {
      maybeApplied: false,
      retryable: false,
    });
  }
  if (json === undefined) return { value: undefined, version, fence };
  try {
    return { value: JSON.parse(json) as T, version, fence };
  } catch (cause) {
    throw new BackendError("the stored value is not JSON (written by something other than edgelock?)", {
      cause,
      maybeApplied: false,
      retryable: false,
    });
  }
}

/** The lease's side of a write: whose, on which key, and whether it still holds locally. */
export interface Writer {
  readonly key: string;
  readonly backendKey: string;
  readonly token: string;
}

/**
 * One guarded write (`json: null` deletes). Every retry carries the same
 * write id, so a write whose answer was lost is applied once.
 */
export async function writeValue(
  ctx: GuardedContext,
  writer: Writer,
  value: { json: string | null },
  options: WriteOptions,
): Promise<WriteResult> {
  guardedCapability(ctx.adapter);
  const checked = validateOptions("write options", options) as WriteOptions;
  const signal = validateSignal(checked.signal);
  const expectedVersion = checked.expectedVersion === undefined ? undefined : validateVersion(checked.expectedVersion);
  const writeId = newToken();
  const write = ctx.adapter.writeValue as NonNullable<LockAdapter["writeValue"]>;
  let attempts = 0;
  const result: AdapterWriteResult = await ctx.call((attempt) => {
    attempts++;
    return write.call(ctx.adapter, {
      key: writer.backendKey,
      token: writer.token,
      json: value.json,
      writeId,
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
      get signal() {
        return attempt.signal;
      },
    });
  }, signal);
  if (result.ok) return { version: result.version, fence: result.fence };
  if (result.reason === "not_held") throw new StaleWriteError(writer.key, attempts > 1);
  if (result.reason === "version_mismatch") {
    // An earlier attempt applied and then overtaken by the holder's own
    // concurrent write would also land here; the caller re-reads either way.
    throw new VersionConflictError(writer.key, expectedVersion ?? -1, result.version);
  }
  throw new BackendError(`writeValue answered something unreadable: ${JSON.stringify(result)}`, {
    maybeApplied: true,
    retryable: false,
  });
}

/**
 * Read, compute, compare-and-set; again on a version conflict (only the
 * holder can write, so a conflict is another write of the same lease, or a
 * write the previous holder made before this lease began).
 */
export async function updateValue<T>(
  ctx: GuardedContext,
  writer: Writer,
  fn: (current: T | undefined, read: ValueRead<T>) => T | Promise<T>,
  options: UpdateOptions,
): Promise<WriteResult & { value: T }> {
  if (typeof fn !== "function") throw new InvalidArgumentError("update needs a function");
  const checked = validateOptions("update options", options) as UpdateOptions;
  const signal = validateSignal(checked.signal);
  const attempts = checked.attempts ?? 5;
  if (!Number.isSafeInteger(attempts) || attempts < 1 || attempts > 100) {
    throw new InvalidArgumentError(`attempts must be an integer from 1 to 100, got ${String(attempts)}`);
  }
  const { maxBytes } = guardedCapability(ctx.adapter);
  for (let attempt = 1; ; attempt++) {
    const read = await readValue<T>(ctx, writer.backendKey, signal);
    const next = await fn(read.value, read);
    const json = serializeValue(next, maxBytes);
    try {
      const written = await writeValue(
        ctx,
        writer,
        { json },
        { expectedVersion: read.version, ...(signal ? { signal } : {}) },
      );
      return { ...written, value: JSON.parse(json) as T };
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= attempts) throw error;
    }
  }
}

/** Whether an error means the lease no longer holds its lock. */
export function isStale(error: unknown): error is StaleWriteError {
  return error instanceof EdgelockError && error.code === "stale_write";
}
