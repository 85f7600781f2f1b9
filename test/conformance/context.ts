import { createLocker, type Locker, type LockerOptions } from "../../src/index.js";
import type { AdapterCapabilities, LockAdapter } from "../../src/types.js";
import { Transport, type Wire } from "./transport.js";

export type { Wire } from "./transport.js";

/**
 * What an adapter's test file hands to {@link describeConformance}.
 *
 * The suite builds several independent adapter instances from one target, as
 * separate processes of a deployment would have: one main instance, and one
 * more per contender in every concurrency case. Each gets its own {@link Wire},
 * where the suite counts the backend requests that instance sends and injects
 * faults into its answers.
 *
 * ```ts
 * describeConformance({
 *   name: "postgres",
 *   setup: async () => { db = await startPostgres(); },       // once: the backend
 *   create: (wire) => postgresAdapter({ url: db.url, fetch: wire.fetch }), // per instance
 *   cleanup: () => db.stop(),
 * });
 * ```
 */
export interface ConformanceTarget {
  /** Shown in test names. */
  readonly name: string;
  /** Start the backend; called once, before the first {@link create}. */
  setup?(): Promise<void> | void;
  /**
   * Build one adapter instance against the real backend, sharing nothing
   * client-side with the others (no cache, batcher or client object). Route
   * every backend request through `wire`: `wire.fetch` for an adapter over
   * HTTP, `wire.request` around each call of an RPC stub or a user client's
   * `fetch`, `wire.inProcess(adapter)` for an adapter that sends nothing.
   * The suite holds the adapter to its declared `requestsPerOperation` as
   * counted there.
   */
  create(wire: Wire): LockAdapter | Promise<LockAdapter>;
  /** Called once after the suite. */
  cleanup?(): Promise<void> | void;
  /**
   * `true` when every refusal of this adapter carries `retryAfterMs`: the suite
   * then requires it, within bounds, on every refusal it sees. Without it the
   * bounds still apply whenever a refusal carries one.
   */
  readonly sendsRetryAfter?: boolean;
  /**
   * Requests an acquire sends before the one that grants, which write no
   * fence (etcd's lease grant: no transaction can create a lease). The
   * native-fencing check allows them on top of the granting request.
   */
  readonly preGrantRequests?: number;
  /**
   * For an adapter in front of a service (HTTP): backend requests the service
   * has sent so far, counted on its side. The suite reports them per
   * operation and per waiting acquire.
   */
  backendRequests?(): number;
}

/** One adapter instance and what the suite observes of it. */
export interface Instance {
  /** The adapter as the lock client sees it. */
  readonly adapter: LockAdapter;
  /** This instance's wire: its backend requests and injected faults. */
  readonly transport: Transport;
  /** Adapter calls made so far (acquire, extend, release, inspect). */
  calls(): number;
  /** Resolves once `count` adapter calls have been made in all: an ordering signal instead of a sleep. */
  called(count: number): Promise<void>;
  /** Times the lock client has entered the adapter's own sleep between polls ({@link LockAdapter.pollWait}). */
  sleeps(): number;
  /** Resolves once the lock client has entered the adapter's `pollWait` `count` times in all. */
  slept(count: number): Promise<void>;
  /** A lock client over this instance, in this run's namespace. */
  locker(options?: Omit<LockerOptions, "adapter">): Locker;
}

/** How a concurrency case spreads its contenders over adapter instances. */
export type Spread = "one instance" | "separate instances";
export const SPREADS: readonly Spread[] = ["one instance", "separate instances"];

/** Everything a group of conformance cases needs. */
export interface Suite {
  readonly name: string;
  readonly target: ConformanceTarget;
  /** The main instance's wire. */
  readonly transport: Transport;
  /** The main instance's adapter. */
  adapter(): LockAdapter;
  capabilities(): AdapterCapabilities;
  /** A lock client over the main instance, in this run's namespace. */
  locker(options?: Omit<LockerOptions, "adapter">): Locker;
  /** The main instance. */
  main(): Instance;
  /** A freshly built instance, as another process would have. */
  instance(): Promise<Instance>;
  /** `n` instances for contenders: the main one `n` times, or `n` fresh ones. */
  contenders(n: number, spread: Spread): Promise<Instance[]>;
  /** This run's lock-client namespace. */
  readonly namespace: string;
  /** A fresh key, unique to this run. */
  key(label?: string): string;
  /** The shortest TTL worth using in timing cases: at least the backend's minimum. */
  shortTtlMs(): number;
  /**
   * A TTL that only has to hold a lock through a case's few requests:
   * `multiple` × the larger of {@link shortTtlMs} and 2.5 s (a cold backend
   * on a loaded machine can take seconds over the first ones), capped at the
   * backend's maximum TTL. Cases about expiry use {@link shortTtlMs}.
   */
  ttlMs(multiple: number): number;
  /**
   * A TTL of `ms` of wall time, for cases whose slack is time on a loaded
   * machine rather than a multiple of the backend's floor: raised to that
   * floor, capped at the maximum (Azure's 15 s floor makes `ttlMs(6)` 60 s,
   * four times what such a case needs).
   */
  ttlOfMs(ms: number): number;
  /** How long after a grant of `ttlMs` any contender must see the lock expired. */
  expiryWaitMs(grantedTtlMs: number): number;
}

export function createSuite(target: ConformanceTarget): Suite & {
  setup(): Promise<void>;
  teardown(): Promise<void>;
  resetFaults(): void;
} {
  const namespace = `${target.name}-${Math.random().toString(36).slice(2, 8)}:`;
  let counter = 0;
  let main: Instance | undefined;
  const built: Instance[] = [];

  const build = async (): Promise<Instance> => {
    const transport = new Transport();
    const instance = observe(await target.create(transport), transport, namespace);
    built.push(instance);
    return instance;
  };

  const suite = {
    name: target.name,
    target,
    namespace,
    get transport() {
      return suite.main().transport;
    },
    main(): Instance {
      if (!main) throw new Error("conformance suite not set up");
      return main;
    },
    adapter: () => suite.main().adapter,
    capabilities: () => suite.adapter().capabilities,
    locker: (options: Omit<LockerOptions, "adapter"> = {}) => suite.main().locker(options),
    instance: build,
    async contenders(n: number, spread: Spread) {
      if (spread === "one instance") return Array.from({ length: n }, () => suite.main());
      return Promise.all(Array.from({ length: n }, build));
    },
    key: (label = "k") => `${label}-${++counter}`,
    shortTtlMs: () => Math.max(suite.capabilities().ttl.minMs, 500),
    ttlMs: (multiple: number) =>
      Math.min(Math.max(suite.shortTtlMs(), 2_500) * multiple, suite.capabilities().ttl.maxMs),
    ttlOfMs: (ms: number) => Math.min(Math.max(suite.shortTtlMs(), ms), suite.capabilities().ttl.maxMs),
    expiryWaitMs: (granted: number) => {
      const caps = suite.capabilities();
      return granted + (caps.clock === "client" ? caps.clockSkewMarginMs : 0) + caps.ttl.granularityMs + 250;
    },
    async setup() {
      await target.setup?.();
      main = await build();
    },
    resetFaults() {
      for (const instance of built) instance.transport.reset();
    },
    async teardown() {
      for (const instance of built) await instance.adapter.dispose?.();
      await target.cleanup?.();
    },
  };
  return suite;
}

/** Count the adapter's calls, for ordering signals; everything else passes through. */
function observe(adapter: LockAdapter, transport: Transport, namespace: string): Instance {
  const calls = counter();
  const sleeps = counter();
  const count = <T>(result: Promise<T>): Promise<T> => {
    calls.add();
    return result;
  };
  const observed: LockAdapter = {
    capabilities: adapter.capabilities,
    acquire: (request) => count(adapter.acquire(request)),
    extend: (request) => count(adapter.extend(request)),
    release: (request) => count(adapter.release(request)),
    inspect: (key, options) => count(adapter.inspect(key, options)),
    ...(adapter.forceRelease
      ? { forceRelease: (request) => count(adapter.forceRelease?.(request) ?? Promise.reject()) }
      : {}),
    ...guarded(adapter, count),
    // Without this the semaphore cases saw no semaphores and only checked the refusal.
    ...(adapter.semaphores ? { semaphores: adapter.semaphores } : {}),
    ...(adapter.dispose ? { dispose: () => adapter.dispose?.() ?? Promise.resolve() } : {}),
    // A sleep, not a backend call: passed through uncounted, so the adapter's own waiting is what runs.
    ...(adapter.pollWait
      ? {
          pollWait: (request) => {
            sleeps.add();
            return adapter.pollWait?.(request) ?? Promise.resolve();
          },
        }
      : {}),
  };
  return {
    adapter: observed,
    transport,
    calls: calls.value,
    called: calls.reached,
    sleeps: sleeps.value,
    slept: sleeps.reached,
    locker: (options = {}) => createLocker({ namespace, ...options, adapter: observed }),
  };
}

/** A count, and promises of it reaching a number: ordering signals instead of sleeps. */
function counter() {
  let value = 0;
  let waiters: { count: number; resolve: () => void }[] = [];
  return {
    value: () => value,
    add() {
      value++;
      waiters = waiters.filter((waiter) => {
        if (waiter.count > value) return true;
        waiter.resolve();
        return false;
      });
    },
    reached: (n: number): Promise<void> =>
      value >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ count: n, resolve })),
  };
}

/** The optional guarded-value methods, counted like the others. */
function guarded(
  adapter: LockAdapter,
  count: <T>(result: Promise<T>) => Promise<T>,
): Pick<LockAdapter, "readValue" | "writeValue"> {
  const { readValue, writeValue } = adapter;
  if (!readValue || !writeValue) return {};
  return {
    readValue: (key, options) => count(readValue.call(adapter, key, options)),
    writeValue: (request) => count(writeValue.call(adapter, request)),
  };
}
