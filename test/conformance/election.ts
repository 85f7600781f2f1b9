import { expect, test } from "vitest";
import {
  BackendError,
  createLocker,
  InvalidArgumentError,
  type Leader,
  type Leadership,
  type LockAdapter,
  LockLostError,
} from "../../src/index.js";
import { sleep } from "../support/timing.js";
import type { Suite } from "./context.js";

/**
 * Leader election over the real backend, built on its lock. Candidates run
 * on separate lock clients; a dead leader is one whose backend requests stop
 * reaching the backend.
 */
export function election(suite: Suite): void {
  // 15 s: time for a leader's extensions on a loaded machine, on every backend (ttlMs(6) is 15 s but for Azure's floor).
  const ttl = () => suite.ttlOfMs(15_000);
  // Registered before the adapter exists, so one budget fits every backend's TTL floor (Azure: 15 s leases).
  const budget = 240_000;
  const quiet = { onBackgroundError: () => {} };
  const fast = { backoff: { baseMs: 20, maxMs: 100 }, ...quiet };
  // How long after a lock frees a waiting candidate takes it (the lock's hand-off, with slack for a loaded machine).
  // One hand-off: a poll interval (or a push) plus a few requests as slow as this run's slow ones, loaded machine included.
  const handOffMs = () => (suite.capabilities().pushWakeups ? 1_000 : 2_000) + 3 * suite.transport.slowMs();
  /** A lock client whose extend and release never reach the backend: a process that died holding the lease. */
  const dying = (namespace: string, extendAnswer?: "not_held") => {
    const adapter = suite.adapter();
    const broken: LockAdapter = {
      ...adapter,
      capabilities: adapter.capabilities,
      acquire: (request) => adapter.acquire(request),
      inspect: (key, options) => adapter.inspect(key, options),
      extend: async () => {
        if (extendAnswer) return { ok: false, reason: extendAnswer };
        throw new BackendError("injected: the holder's process is gone", { maybeApplied: false, retryable: false });
      },
      release: async () => {
        throw new BackendError("injected: the holder's process is gone", { maybeApplied: false, retryable: false });
      },
    };
    return createLocker({ adapter: broken, namespace, ...quiet });
  };
  const own = (namespace: string) => createLocker({ adapter: suite.adapter(), namespace, ...fast });
  const space = () => `election-${Math.random().toString(36).slice(2, 8)}:`;

  test(
    "4 candidates on separate clients: exactly one leader at a time, each resign hands over at once, terms rise",
    async () => {
      const k = suite.key("elect");
      const stop = new AbortController();
      let current: Leadership | null = null;
      // A leader stops leading when it calls resign (its work stops first); its signal aborts once the release is answered.
      const resigned = new Set<Leadership>();
      const overlaps: string[] = [];
      const terms: number[] = [];
      const won: { identity: string; at: number }[] = [];
      const campaigns = ["a", "b", "c", "d"].map((identity) =>
        suite
          .locker(fast)
          .election(k)
          .campaign({ identity, ttlMs: ttl(), signal: stop.signal })
          .then((leadership) => {
            if (current && !current.signal.aborted && !resigned.has(current))
              overlaps.push(`${current.identity} and ${identity}`);
            current = leadership;
            terms.push(leadership.term);
            won.push({ identity, at: Date.now() });
            return leadership;
          }),
      );
      const observer = suite.locker(fast).election(k);
      for (let round = 0; round < 3; round++) {
        while (won.length <= round) await sleep(10);
        const leader = current as Leadership | null;
        if (!leader) throw new Error("expected a leader");
        expect(await observer.leader()).toMatchObject({ identity: leader.identity, term: leader.term });
        await sleep(100);
        const resignedAt = Date.now();
        resigned.add(leader);
        await leader.resign();
        expect(leader.signal.aborted).toBe(true);
        if (round < 2) {
          while (won.length <= round + 1) await sleep(10);
          expect((won[round + 1]?.at ?? 0) - resignedAt).toBeLessThan(handOffMs());
        }
      }
      stop.abort();
      const settled = await Promise.allSettled(campaigns);
      for (const outcome of settled) if (outcome.status === "fulfilled") await outcome.value.resign();
      expect(overlaps).toEqual([]);
      expect(terms.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < terms.length; i++) expect(terms[i]).toBeGreaterThan(terms[i - 1] ?? 0);
    },
    budget,
  );

  test(
    "a leader that dies (stops extending) steps down before its deadline; a new leader within TTL + margin + one poll",
    async () => {
      const namespace = space();
      const k = suite.key("elect-dead");
      const caps = suite.capabilities();
      const ttlMs = ttl();
      const leader = await dying(namespace).election(k).campaign({ identity: "doomed", ttlMs });
      const grantedUntil = leader.expiresAt;
      let abortedAt = 0;
      leader.signal.addEventListener("abort", () => {
        abortedAt = Date.now();
      });
      const next = await own(namespace).election(k).campaign({ identity: "heir", ttlMs });
      const tookOverAt = Date.now();
      expect(abortedAt).toBeGreaterThan(0);
      expect(abortedAt).toBeLessThanOrEqual(grantedUntil);
      expect(abortedAt).toBeLessThan(tookOverAt);
      expect(leader.signal.reason).toBeInstanceOf(LockLostError);
      const margin = caps.clock === "client" ? caps.clockSkewMarginMs : 0;
      // The heir cannot take over before the dead lease's backend expiry, and must do so within one poll of it.
      expect(tookOverAt - (grantedUntil + margin)).toBeLessThan(caps.ttl.granularityMs + margin + handOffMs());
      expect(next.term).toBeGreaterThan(leader.term);
      expect(await own(namespace).election(k).leader()).toMatchObject({ identity: "heir", term: next.term });
      await next.resign();
    },
    budget,
  );

  test(
    "a leader whose extension is refused aborts its signal at once, well before its deadline",
    async () => {
      const namespace = space();
      const k = suite.key("elect-refused");
      const ttlMs = ttl();
      const leader = await dying(namespace, "not_held").election(k).campaign({ identity: "refused", ttlMs });
      const deadline = leader.expiresAt;
      await new Promise((resolve) => leader.signal.addEventListener("abort", resolve, { once: true }));
      expect(Date.now()).toBeLessThan(deadline);
      expect(leader.signal.reason).toBeInstanceOf(LockLostError);
    },
    budget,
  );

  test(
    "leader() tells identity, term and since without a token; observe() yields each change of leader",
    async () => {
      const namespace = space();
      const k = suite.key("elect-observe");
      const stop = new AbortController();
      const seen: (Leader | null)[] = [];
      const watching = (async () => {
        for await (const leader of own(namespace).election(k).observe({ intervalMs: 50, signal: stop.signal })) {
          seen.push(leader);
        }
      })();
      while (seen.length < 1) await sleep(10);
      expect(seen[0]).toBeNull();
      const before = Date.now();
      const first = await own(namespace).election(k).campaign({ identity: "first é", ttlMs: ttl() });
      const state = await own(namespace).election(k).leader();
      expect(state).toMatchObject({ identity: "first é", term: first.term });
      expect(state?.since).toBeGreaterThanOrEqual(before - 5);
      expect(JSON.stringify(state)).not.toMatch(/token/i);
      while (seen.length < 2) await sleep(10);
      await first.resign();
      const second = await own(namespace).election(k).campaign({ identity: "second", ttlMs: ttl() });
      while (!seen.some((leader) => leader?.term === second.term)) await sleep(10);
      await second.resign();
      stop.abort();
      await watching;
      expect(seen[1]).toMatchObject({ identity: "first é", term: first.term });
      const terms = seen.filter((leader): leader is Leader => leader !== null).map((leader) => leader.term);
      expect(terms).toEqual([...new Set(terms)].sort((a, b) => a - b));
    },
    budget,
  );

  test("bad election input is refused with InvalidArgumentError before any request", async () => {
    const locker = suite.locker();
    const before = suite.transport.requests;
    expect(() => locker.election("")).toThrow(InvalidArgumentError);
    const election = locker.election(suite.key("elect-bad"));
    await expect(election.campaign({ identity: "" })).rejects.toThrow(InvalidArgumentError);
    await expect(election.campaign({ identity: "x".repeat(300) })).rejects.toThrow(InvalidArgumentError);
    await expect(election.campaign({ ttlMs: 0 })).rejects.toThrow(InvalidArgumentError);
    expect(() => election.observe({ intervalMs: 0 })).toThrow(InvalidArgumentError);
    expect(suite.transport.requests).toBe(before);
  });
}
