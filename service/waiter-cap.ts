/**
 * Caps on acquires waiting in one service instance at once, in total and per
 * tenant, so a crowd of waiters (one misbehaving client, or one tenant's
 * burst) can neither exhaust the instance's memory nor multiply the polling
 * requests billed to the backend's owner. An acquire past a cap is refused
 * at once, before any backend request.
 *
 * @module
 */

/** Default cap on waiting acquires per instance. */
export const DEFAULT_MAX_WAITERS = 1_000;
/** Default cap on waiting acquires per tenant, per instance. */
export const DEFAULT_MAX_WAITERS_PER_TENANT = 100;

export class WaiterCap {
  readonly #max: number;
  readonly #maxPerTenant: number;
  readonly #byTenant = new Map<string, number>();
  #total = 0;

  constructor(max: number, maxPerTenant: number) {
    this.#max = max;
    this.#maxPerTenant = maxPerTenant;
  }

  /** Take a place for `tenant`: a function that gives it back, or `undefined` when a cap is reached. */
  enter(tenant: string): (() => void) | undefined {
    const mine = this.#byTenant.get(tenant) ?? 0;
    if (this.#total >= this.#max || mine >= this.#maxPerTenant) return undefined;
    this.#total++;
    this.#byTenant.set(tenant, mine + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#total--;
      const now = (this.#byTenant.get(tenant) ?? 1) - 1;
      if (now === 0) this.#byTenant.delete(tenant);
      else this.#byTenant.set(tenant, now);
    };
  }
}
