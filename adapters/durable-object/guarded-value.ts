/**
 * The guarded value in the lock object's storage: its version, the fence of
 * the holder that wrote it and that write's id, kept under one key.
 *
 * @module
 */
import type { SyncKvStorage } from "cloudflare:workers";
import type { ReadValueAnswer, WriteValueAnswer, WriteValueCall } from "./protocol.js";

/** Storage key of the guarded value: like the fence, kept when the lock is idle. */
export const VALUE_KEY = "value";

export interface StoredValue {
  readonly json?: string;
  readonly version: number;
  readonly fence: number;
  readonly writeId: string;
}

export function readValue(kv: SyncKvStorage): ReadValueAnswer {
  const stored = kv.get<StoredValue>(VALUE_KEY);
  if (!stored) return { version: 0, fence: 0 };
  return {
    version: stored.version,
    fence: stored.fence,
    ...(stored.json === undefined ? {} : { json: stored.json }),
  };
}

/** Write `call`'s value over `stored` if `holder` (the lock's holder now, if any) is the caller. */
export function writeValue(
  kv: SyncKvStorage,
  call: WriteValueCall,
  stored: StoredValue | undefined,
  holder: { readonly token: string; readonly fence: number } | undefined,
): WriteValueAnswer {
  const version = stored?.version ?? 0;
  if (holder?.token !== call.token) return { ok: false, reason: "not_held" };
  if (call.expectedVersion !== undefined && call.expectedVersion !== version) {
    return { ok: false, reason: "version_mismatch", version };
  }
  const next: StoredValue = {
    version: version + 1,
    fence: holder.fence,
    writeId: call.writeId,
    ...(call.json === null ? {} : { json: call.json }),
  };
  kv.put(VALUE_KEY, next);
  return { ok: true, version: next.version, fence: next.fence };
}
