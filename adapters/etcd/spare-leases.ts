/**
 * Leases granted for acquires that were refused, kept for the same token's
 * next poll: a waiting acquire then renews one lease (a keep-alive, which
 * etcd serves on the leader without a Raft write) instead of granting a new
 * one per poll and leaving each to run out unused.
 *
 * @module
 */
import type { EtcdGateway } from "./gateway.js";
import { type GrantedLease, grantLease, keepLeaseAlive, leaseSeconds } from "./leases.js";

interface Spare {
  readonly lease: GrantedLease;
  /** Whole seconds asked for: a later request is served only if it asks for the same. */
  readonly seconds: number;
  /** Local time after which the lease has most likely run out: not worth a keep-alive. */
  readonly until: number;
}

/** Most spares kept per adapter; beyond it the oldest are forgotten (they run out on their own). */
const LIMIT = 1024;

export class SpareLeases {
  readonly #byToken = new Map<string, Spare>();

  /** Keep `lease`, granted no earlier than `grantedAt` for a refused acquire by `token`. */
  keep(token: string, ttlMs: number, lease: GrantedLease, grantedAt: number): void {
    const now = Date.now();
    for (const [key, spare] of this.#byToken) {
      if (spare.until <= now || this.#byToken.size >= LIMIT) this.#byToken.delete(key);
    }
    this.#byToken.set(token, { lease, seconds: leaseSeconds(ttlMs), until: grantedAt + lease.ttlMs + 1000 });
  }

  /** The spare lease of `token` for a TTL of `ttlMs`, if there is one that may still be alive; it is no longer kept. */
  take(token: string, ttlMs: number): GrantedLease | undefined {
    const spare = this.#byToken.get(token);
    if (spare === undefined) return undefined;
    this.#byToken.delete(token);
    return spare.seconds === leaseSeconds(ttlMs) && spare.until > Date.now() ? spare.lease : undefined;
  }

  /** The token's spare lease renewed, if it is still alive; else a new lease. */
  async leaseFor(gateway: EtcdGateway, token: string, ttlMs: number, signal?: AbortSignal): Promise<GrantedLease> {
    const spare = this.take(token, ttlMs);
    const renewed = spare && (await keepLeaseAlive(gateway, spare.id, signal));
    return spare && renewed ? { id: spare.id, ttlMs: renewed } : grantLease(gateway, ttlMs, signal);
  }
}
