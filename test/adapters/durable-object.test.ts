import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { durableObjectAdapter, type LockObjectNamespace } from "../../adapters/durable-object/index.js";
import { createLocker, type LockAdapter, newToken } from "../../src/index.js";
import type { AdapterGrant } from "../../src/types.js";
import { describeConformance, type Wire } from "../conformance/index.js";
import { expectRequestCountCaseToFail, misdeclared } from "../conformance/misdeclared.js";
import { Transport } from "../conformance/transport.js";
import { type LockWorker, startLockWorker } from "../support/miniflare.js";
import { STUB_RPC_METHODS } from "../support/stub-gateway.js";
import { sleep } from "../support/timing.js";

let shared: LockWorker | undefined;

/** Every call the adapters make on a stub. */
const STUB_METHODS = [...STUB_RPC_METHODS, "fetch"] as const;

/**
 * The namespace, with every call on its stubs (each RPC method, or fetch) sent through `wire`: where
 * requests really happen. The stubs are the test gateway's (plain `fetch` into workerd, see
 * `test/support/stub-gateway.ts`); a method missing here fails loudly (not a function), never uncounted.
 */
function countedNamespace(namespace: LockObjectNamespace, wire: Wire): LockObjectNamespace<string> {
  // One stub per key, as each process would keep its own.
  const stubs = new Map<string, ReturnType<LockObjectNamespace["get"]>>();
  const counted = (name: string) => {
    const stub = namespace.get(namespace.idFromName(name)) as unknown as Record<
      string,
      (...a: unknown[]) => Promise<unknown>
    >;
    const calls: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const name of STUB_METHODS) {
      calls[name] = (...args: unknown[]) => {
        const init = name === "fetch" ? (args[1] as RequestInit | undefined) : undefined;
        // A request delivered late goes without the caller's signal, as one already on its way.
        const sent = (held: boolean) => (held && init ? [args[0], { ...init, signal: undefined }] : args);
        return wire.request(
          (held) => (stub[name] as (...a: unknown[]) => Promise<unknown>)(...sent(held)),
          init?.signal ?? undefined,
        );
      };
    }
    return calls as unknown as ReturnType<LockObjectNamespace["get"]>;
  };
  return {
    idFromName: (name) => name,
    get(name) {
      let stub = stubs.get(name);
      if (!stub) {
        stub = counted(name);
        stubs.set(name, stub);
      }
      return stub;
    },
  };
}

const worker = () => {
  if (!shared) throw new Error("the lock Worker is not started");
  return shared;
};

describeConformance({
  name: "durable-object",
  sendsRetryAfter: true,
  async setup() {
    shared = await startLockWorker();
  },
  create: (wire) => durableObjectAdapter({ namespace: countedNamespace(worker().namespace, wire) }),
  cleanup: () => shared?.stop(),
});

describe("durable-object: the request count is checked, not assumed", () => {
  test("declaring no requests (each operation is one call on the stub) fails the suite's request-count case", async () => {
    let own: LockWorker | undefined;
    await expectRequestCountCaseToFail({
      name: "durable-object declaring 0",
      async setup() {
        own = await startLockWorker();
      },
      create(wire) {
        if (!own) throw new Error("the lock Worker is not started");
        const adapter = durableObjectAdapter({ namespace: countedNamespace(own.namespace, wire) });
        return misdeclared(adapter, { acquire: 0, extend: 0, release: 0, inspect: 0 });
      },
      cleanup: () => own?.stop(),
    });
  }, 60_000);
});

/** An adapter that keeps the grants its acquires answered. */
function recording(adapter: LockAdapter): LockAdapter & { grants: AdapterGrant[] } {
  const grants: AdapterGrant[] = [];
  return {
    capabilities: adapter.capabilities,
    grants,
    acquire: async (request) => {
      const answer = await adapter.acquire(request);
      if (answer.ok) grants.push(answer);
      return answer;
    },
    extend: (request) => adapter.extend(request),
    release: (request) => adapter.release(request),
    inspect: (k, options) => adapter.inspect(k, options),
  };
}

describe("durable-object: waiters inside the object", () => {
  let worker: LockWorker;
  let adapter: LockAdapter;
  let run = 0;
  const key = (label: string) => `do-${label}-${++run}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    worker = await startLockWorker();
    adapter = durableObjectAdapter({ namespace: worker.namespace });
  }, 60_000);
  afterAll(() => worker?.stop(), 30_000);
  /** The ordering signal: resolves once the object has queued `n` acquires on `k` (never a stagger). */
  const untilQueued = async (k: string, n: number) => {
    const object = worker.namespace.get(worker.namespace.idFromName(k));
    while ((await object.inspect()).waiting < n) await sleep(10);
  };
  /** The slowest of a few inspects, ms: what a round trip to the object costs right now. */
  const roundTrip = async (k: string) => {
    let slowest = 0;
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      await adapter.inspect(k);
      slowest = Math.max(slowest, Date.now() - started);
    }
    return slowest;
  };

  test("30 concurrent waiters, each on its own adapter, are granted in the order the object queued them, one stub call each to wait, with rising fences", async () => {
    const k = key("fifo");
    const n = 30;
    const holder = await createLocker({ adapter }).tryAcquire(k, { ttlMs: 30_000 });
    if (!holder) throw new Error("expected the first lease");
    // In grant order: when the object queued each one (its clock), from the grant it answered.
    const grants: { index: number; queuedAt: number; fence: number }[] = [];
    const wires = Array.from({ length: n }, () => new Transport());
    const done = wires.map(async (wire, index) => {
      // Spreads the arrivals; the order checked below is the object's own record, not this stagger.
      await sleep(index * 15);
      const waiter = recording(durableObjectAdapter({ namespace: countedNamespace(worker.namespace, wire) }));
      const lease = await createLocker({ adapter: waiter }).acquire(k, { ttlMs: 30_000, waitMs: 60_000 });
      const grant = waiter.grants[0];
      if (!grant) throw new Error("expected the adapter's grant");
      grants.push({ index, queuedAt: grant.expiresAt - grant.ttlMs - (grant.waitedMs ?? 0), fence: lease.fence });
      await lease.release();
    });
    // Every waiter has sent its acquire before the holder lets go.
    while (wires.some((wire) => wire.requests < 1)) await sleep(10);
    expect(await adapter.inspect(k)).toMatchObject({ held: true, fence: holder.fence });
    await holder.release();
    await Promise.all(done);

    expect(grants).toHaveLength(n);
    expect(grants[0]?.fence).toBe(holder.fence + 1);
    for (let i = 1; i < n; i++) {
      const [before, after] = [grants[i - 1], grants[i]];
      expect(after?.fence).toBe((before?.fence ?? 0) + 1);
      // First queued, first granted.
      expect(after?.queuedAt).toBeGreaterThanOrEqual(before?.queuedAt ?? 0);
    }
    // Counted on the stubs: one waiting acquire and one release each, no polling.
    for (const wire of wires) expect(wire.requests).toBe(2);
    expect(await adapter.inspect(k)).toEqual({ held: false });
  }, 60_000);

  test("a holder that dies: its expiry alarm hands the lock to the oldest waiter, which reports its queued time", async () => {
    const k = key("dies");
    const rtt = await roundTrip(k);
    // Long enough that the waiter is queued before it ends, on a loaded machine too.
    const deadTtlMs = 1_000;
    const dead = await adapter.acquire({ key: k, token: newToken(), ttlMs: deadTtlMs });
    if (!dead.ok) throw new Error("expected a grant");
    const wire = new Transport();
    const waiter = durableObjectAdapter({ namespace: countedNamespace(worker.namespace, wire) });
    const sentAt = Date.now();
    const lease = await createLocker({ adapter: waiter }).acquire(k, { ttlMs: 5_000, waitMs: 10_000 });
    const tookMs = Date.now() - sentAt;
    expect(wire.requests).toBe(1);
    expect(lease.fence).toBe(dead.fence + 1);
    // Granted at the dead holder's expiry, not before, and promptly after it: within a few round trips
    // measured just before, not an idle machine's figure.
    expect(Date.now()).toBeGreaterThanOrEqual(dead.expiresAt - 50);
    expect(tookMs).toBeLessThan(deadTtlMs + 400 + 5 * rtt);
    // The client's deadline counts the queued time: it ends no later than the object's expiry.
    const state = await adapter.inspect(k);
    if (!state.held) throw new Error("expected the waiter to hold the lock");
    expect(lease.expiresAt).toBeLessThanOrEqual(state.expiresAt + 50);
    expect(lease.expiresAt).toBeGreaterThan(sentAt + 5_000);
    await lease.release();
  }, 30_000);

  test("an alarm that fires before the holder's expiry re-arms: an extended holder that dies still hands over at its new expiry", async () => {
    const k = key("rearm");
    const rtt = await roundTrip(k);
    const token = newToken();
    const first = await adapter.acquire({ key: k, token, ttlMs: 600 });
    if (!first.ok) throw new Error("expected a grant");
    // The alarm set for the first expiry stays where it is; it must find the holder alive and move on.
    const extended = await adapter.extend({ key: k, token, ttlMs: 1_800 });
    if (!extended.ok) throw new Error("expected the extend to hold");
    const sentAt = Date.now();
    const granted = await adapter.acquire({ key: k, token: newToken(), ttlMs: 5_000, waitMs: 10_000 });
    const tookMs = Date.now() - sentAt;
    expect(granted).toMatchObject({ ok: true, fence: first.fence + 1 });
    expect(Date.now()).toBeGreaterThanOrEqual(extended.expiresAt - 50);
    expect(tookMs).toBeLessThan(1_800 + 400 + 5 * rtt);
  }, 30_000);

  test("a grant that expires before the alarm already set moves it earlier: the next waiter is not kept to the old time", async () => {
    const k = key("earlier");
    const rtt = await roundTrip(k);
    const holder = newToken();
    if (!(await adapter.acquire({ key: k, token: holder, ttlMs: 30_000 })).ok) throw new Error("expected a grant");
    // A short-lived waiter that dies once granted, and a patient one behind it.
    const short = adapter.acquire({ key: k, token: newToken(), ttlMs: 800, waitMs: 10_000 });
    await untilQueued(k, 1);
    const patient = adapter.acquire({ key: k, token: newToken(), ttlMs: 5_000, waitMs: 10_000 });
    await untilQueued(k, 2);
    const releasedAt = Date.now();
    expect(await adapter.release({ key: k, token: holder })).toEqual({ ok: true });
    const dies = await short;
    if (!dies.ok) throw new Error("expected the short waiter's grant");
    const next = await patient;
    expect(next).toMatchObject({ ok: true, fence: dies.fence + 1 });
    // At the short grant's expiry, not the first holder's 30 s nor the patient waiter's deadline.
    expect(Date.now()).toBeGreaterThanOrEqual(dies.expiresAt - 50);
    expect(Date.now() - releasedAt).toBeLessThan(800 + 400 + 5 * rtt);
  }, 30_000);

  test("waiters that give up leave the queue: the next one in line is granted, the cancelled ones never", async () => {
    const k = key("cancel");
    const holder = newToken();
    const first = await adapter.acquire({ key: k, token: holder, ttlMs: 30_000 });
    if (!first.ok) throw new Error("expected a grant");
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const tokens = controllers.map(() => newToken());
    const pending: Promise<unknown>[] = [];
    for (const [i, controller] of controllers.entries()) {
      pending.push(
        adapter
          .acquire({ key: k, token: tokens[i] ?? "", ttlMs: 30_000, waitMs: 20_000, signal: controller.signal })
          .catch((e: unknown) => e),
      );
      await untilQueued(k, i + 1);
    }
    controllers[0]?.abort(new Error("first waiter gave up"));
    controllers[1]?.abort(new Error("second waiter gave up"));
    expect((await pending[0]) as Error).toMatchObject({ code: "aborted" });
    expect((await pending[1]) as Error).toMatchObject({ code: "aborted" });
    expect((await adapter.release({ key: k, token: holder })).ok).toBe(true);
    const granted = await pending[2];
    expect(granted).toMatchObject({ ok: true, fence: first.fence + 1 });
    // Granted from the queue: it waited there while the others were withdrawn.
    expect((granted as { waitedMs?: number }).waitedMs).toBeGreaterThan(0);
    // The cancelled tokens hold nothing and are not queued: their releases and extends are refused.
    for (const token of tokens.slice(0, 2)) {
      expect(await adapter.extend({ key: k, token, ttlMs: 1_000 })).toEqual({ ok: false, reason: "not_held" });
    }
    expect((await adapter.release({ key: k, token: tokens[2] ?? "" })).ok).toBe(true);
    expect(await adapter.inspect(k)).toEqual({ held: false });
  }, 30_000);

  test("a release by a queued token withdraws it (the lock client's clean-up after an abort)", async () => {
    const k = key("withdraw");
    const holder = newToken();
    await adapter.acquire({ key: k, token: holder, ttlMs: 30_000 });
    const queued = newToken();
    const waiting = adapter.acquire({ key: k, token: queued, ttlMs: 30_000, waitMs: 20_000 });
    await untilQueued(k, 1);
    expect(await adapter.release({ key: k, token: queued })).toEqual({ ok: false, reason: "not_held" });
    expect(await waiting).toEqual({ ok: false, reason: "held" });
    await adapter.release({ key: k, token: holder });
    expect(await adapter.inspect(k)).toEqual({ held: false });
  }, 30_000);

  test("a retried waiting acquire with the same token keeps one place in the queue and gets one grant", async () => {
    const k = key("retry-wait");
    const holder = newToken();
    const first = await adapter.acquire({ key: k, token: holder, ttlMs: 30_000 });
    if (!first.ok) throw new Error("expected a grant");
    const token = newToken();
    const original = adapter.acquire({ key: k, token, ttlMs: 30_000, waitMs: 20_000 });
    await untilQueued(k, 1);
    const retry = adapter.acquire({ key: k, token, ttlMs: 30_000, waitMs: 20_000 });
    // The first call is superseded, never granted.
    expect(await original).toEqual({ ok: false, reason: "held" });
    await adapter.release({ key: k, token: holder });
    expect(await retry).toMatchObject({ ok: true, fence: first.fence + 1 });
    // And once granted, another retry recognises the lock: same fence.
    expect(await adapter.acquire({ key: k, token, ttlMs: 30_000 })).toMatchObject({ ok: true, fence: first.fence + 1 });
    await adapter.release({ key: k, token });
  }, 30_000);

  test("a wait that runs out answers held at its deadline, on the object's clock", async () => {
    const k = key("deadline");
    const holder = newToken();
    await adapter.acquire({ key: k, token: holder, ttlMs: 30_000 });
    const rtt = await roundTrip(k);
    const started = Date.now();
    const answer = await adapter.acquire({ key: k, token: newToken(), ttlMs: 1_000, waitMs: 300 });
    const elapsed = Date.now() - started;
    expect(answer).toMatchObject({ ok: false, reason: "held" });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(300 + 400 + 5 * rtt);
    await adapter.release({ key: k, token: holder });
  }, 30_000);

  test("the object validates its inputs itself: a bad call is an InvalidArgumentError, nothing applied", async () => {
    const k = key("invalid");
    await expect(adapter.acquire({ key: k, token: "", ttlMs: 1_000 })).rejects.toMatchObject({
      code: "invalid_argument",
    });
    await expect(adapter.acquire({ key: k, token: newToken(), ttlMs: 0 })).rejects.toMatchObject({
      code: "invalid_argument",
    });
    await expect(adapter.extend({ key: k, token: newToken(), ttlMs: 1.5 })).rejects.toMatchObject({
      code: "invalid_argument",
    });
    expect(await adapter.inspect(k)).toEqual({ held: false });
  });

  test("the adapter refuses a missing namespace", () => {
    expect(() => durableObjectAdapter({ namespace: undefined as never })).toThrow(/namespace/);
  });
});
