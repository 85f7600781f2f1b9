/**
 * etcd leases: a TTL in whole seconds, kept by the leader's clock, that
 * deletes every key attached to it when it runs out.
 *
 * @module
 */
import { BackendError } from "../../src/errors.js";
import { MAX_DURATION_MS } from "../../src/validate.js";
import { int64, positive } from "./encoding.js";
import type { EtcdGateway } from "./gateway.js";

/** Largest TTL edgelock asks etcd for: whole seconds within the shared timer cap. */
export const MAX_TTL_MS = Math.floor(MAX_DURATION_MS / 1000) * 1000;

/** A granted lease: its id (an int64, kept as the gateway's decimal string) and the TTL etcd granted. */
export interface GrantedLease {
  readonly id: string;
  readonly ttlMs: number;
}

/** A TTL in ms as etcd's whole seconds, rounded up. */
export function leaseSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/**
 * Grant a lease of at least `ttlMs` (rounded up to seconds; etcd raises it
 * further to its minimum, 1.5 election timeouts, and says so).
 */
export async function grantLease(gateway: EtcdGateway, ttlMs: number, signal?: AbortSignal): Promise<GrantedLease> {
  const answer = await gateway.call<{ ID?: string; TTL?: string }>({
    path: "/v3/lease/grant",
    body: { TTL: String(leaseSeconds(ttlMs)) },
    signal,
    what: "grant an etcd lease",
    mutating: true,
  });
  if (typeof answer.ID !== "string" || !/^[1-9]\d*$/.test(answer.ID)) {
    throw new BackendError("etcd granted a lease without a readable ID", { maybeApplied: true, retryable: false });
  }
  return { id: answer.ID, ttlMs: positive(int64(answer.TTL, "lease TTL"), "lease TTL") * 1000 };
}

/**
 * Seconds left on a lease (rounded down by etcd) and the keys attached to
 * it, base64; `undefined` when the lease is gone.
 */
export async function leaseTimeToLive(
  gateway: EtcdGateway,
  id: string,
  signal?: AbortSignal,
): Promise<{ seconds: number; keys: readonly string[] } | undefined> {
  const answer = await gateway.call<{ TTL?: string; keys?: string[] }>({
    path: "/v3/lease/timetolive",
    body: { ID: id, keys: true },
    signal,
    what: "read an etcd lease",
    mutating: false,
  });
  const seconds = int64(answer.TTL, "lease TTL");
  return seconds < 0 ? undefined : { seconds, keys: answer.keys ?? [] };
}

/**
 * Renew a lease to its granted TTL (what etcd's keep-alive does: it cannot
 * set another TTL). The TTL in force, in ms, or `undefined` when the lease is gone.
 */
export async function keepLeaseAlive(
  gateway: EtcdGateway,
  id: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const answer = await gateway.call<{ result?: { TTL?: string } }>({
    path: "/v3/lease/keepalive",
    body: { ID: id },
    signal,
    what: "renew an etcd lease",
    mutating: true,
  });
  const seconds = int64(answer.result?.TTL, "lease TTL");
  return seconds > 0 ? seconds * 1000 : undefined;
}
