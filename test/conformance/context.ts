import { createLocker, type Locker, type LockerOptions } from "../../src/index.js";
import type { AdapterCapabilities, LockAdapter } from "../../src/types.js";
import { Transport } from "./transport.js";

/** What an adapter's test file hands to {@link describeConformance}. */
export interface ConformanceTarget {
  /** Shown in test names. */
  readonly name: string;
  /**
   * Build the adapter under test against its real backend. Adapters that
   * speak HTTP must send every request through `fetch`: the suite counts
   * requests and injects network faults there.
   */
  create(context: { fetch: typeof fetch }): LockAdapter | Promise<LockAdapter>;
  /**
   * Where the suite counts requests and injects faults: `"fetch"` (default)
   * for adapters over HTTP; `"adapter"` for in-process adapters and RPC,
   * where the adapter boundary stands in for the wire.
   */
  readonly transport?: "fetch" | "adapter";
  /** Called once after the suite. */
  cleanup?(): Promise<void> | void;
}

/** Everything a group of conformance cases needs. */
export interface Suite {
  readonly name: string;
  readonly transport: Transport;
  readonly mode: "fetch" | "adapter";
  /** The adapter as the suite sees it (wrapped in adapter mode). */
  adapter(): LockAdapter;
  capabilities(): AdapterCapabilities;
  /** A lock client over the adapter, in this run's namespace. */
  locker(options?: Omit<LockerOptions, "adapter">): Locker;
  /** A fresh key, unique to this run. */
  key(label?: string): string;
  /** The shortest TTL worth using in timing cases: at least the backend's minimum. */
  shortTtlMs(): number;
  /** `multiple` × {@link shortTtlMs}, capped at the backend's maximum TTL. */
  ttlMs(multiple: number): number;
  /** How long after a grant of `ttlMs` any contender must see the lock expired. */
  expiryWaitMs(grantedTtlMs: number): number;
}

export function createSuite(target: ConformanceTarget): Suite & { setup(): Promise<void>; teardown(): Promise<void> } {
  const transport = new Transport();
  const mode = target.transport ?? "fetch";
  const run = `${target.name}-${Math.random().toString(36).slice(2, 8)}`;
  let counter = 0;
  let adapter: LockAdapter | undefined;

  const suite = {
    name: target.name,
    transport,
    mode,
    adapter(): LockAdapter {
      if (!adapter) throw new Error("conformance suite not set up");
      return adapter;
    },
    capabilities: () => suite.adapter().capabilities,
    locker: (options: Omit<LockerOptions, "adapter"> = {}) =>
      createLocker({ namespace: `${run}:`, ...options, adapter: suite.adapter() }),
    key: (label = "k") => `${label}-${++counter}`,
    shortTtlMs: () => Math.max(suite.capabilities().ttl.minMs, 500),
    ttlMs: (multiple: number) => Math.min(suite.shortTtlMs() * multiple, suite.capabilities().ttl.maxMs),
    expiryWaitMs: (granted: number) => {
      const caps = suite.capabilities();
      return granted + (caps.clock === "client" ? caps.clockSkewMarginMs : 0) + caps.ttl.granularityMs + 250;
    },
    async setup() {
      const created = await target.create({ fetch: transport.fetch });
      adapter = mode === "adapter" ? transport.wrap(created) : created;
    },
    async teardown() {
      await adapter?.dispose?.();
      await target.cleanup?.();
    },
  };
  return suite;
}
