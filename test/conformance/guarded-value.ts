import { expect, test } from "vitest";
import {
  InvalidArgumentError,
  type Lease,
  type Locker,
  newToken,
  StaleWriteError,
  UnsupportedError,
  VersionConflictError,
} from "../../src/index.js";
import type { LockAdapter } from "../../src/types.js";
import { sleep } from "../support/timing.js";
import type { Suite } from "./context.js";
import type { Transport } from "./transport.js";

/** One deployment's view: its own adapter instance, its own wire. */
interface Instance {
  readonly adapter: LockAdapter;
  readonly transport: Transport;
  locker(options?: { requestTimeoutMs?: number; retries?: number }): Locker;
}

/**
 * The guarded value: only the current holder writes, checked by the backend
 * in the write itself. Contenders run on separate adapter instances, each
 * with its own transport (request counting, injected faults), as separate
 * deployments would.
 */
export function guardedValue(suite: Suite): void {
  const namespace = suite.namespace;
  const made: Instance[] = [];
  const instance = async (): Promise<Instance> => {
    const built = await suite.instance();
    const one: Instance = {
      adapter: built.adapter,
      transport: built.transport,
      locker: (options = {}) => built.locker({ ...options, backoff: { baseMs: 20, maxMs: 200 } }),
    };
    made.push(one);
    return one;
  };

  const caps = () => suite.capabilities().guardedValue;
  // Long enough that a loaded machine never lets a lease lapse mid-case.
  const ttl = () => suite.ttlMs(20);
  const cost = (op: "read" | "write") => caps()?.requestsPerOperation[op];
  const key = (label: string) => suite.key(`gv-${label}`);
  const lease = async (locker: Locker, k: string, ttlMs = ttl()): Promise<Lease> => {
    const granted = await locker.acquire(k, { ttlMs, waitMs: 30_000 });
    return granted;
  };

  // Capabilities are known only once the suite is set up: an adapter without
  // a guarded value has every case check the refusal instead.
  const gvTest = (name: string, body: () => Promise<void> | void, timeout?: number) =>
    test(
      name,
      async () => {
        if (suite.capabilities().guardedValue) return body();
        const locker = suite.locker();
        await expect(locker.read(key("none"))).rejects.toBeInstanceOf(UnsupportedError);
        const held = await lease(locker, key("none"));
        await expect(held.write(1)).rejects.toBeInstanceOf(UnsupportedError);
        await held.release();
      },
      timeout,
    );

  gvTest("capabilities: at least 64 KiB, and integer request counts", () => {
    const gv = caps();
    expect(gv?.maxBytes).toBeGreaterThanOrEqual(65_536);
    expect(Number.isInteger(gv?.requestsPerOperation.read)).toBe(true);
    expect(Number.isInteger(gv?.requestsPerOperation.write)).toBe(true);
  });

  gvTest("a never-written key reads as no value, version 0", async () => {
    const a = await instance();
    expect(await a.locker().read(key("empty"))).toEqual({ value: undefined, version: 0, fence: 0 });
  });

  gvTest(
    "the holder writes, a separate instance reads it whole, with the writer's fence; requests as declared",
    async () => {
      const [a, b] = [await instance(), await instance()];
      const k = key("roundtrip");
      const held = await lease(a.locker(), k);
      await held.write({ warm: true }); // one-time warm-up (script loading, …)
      await b.locker().read(k);
      const value = { text: "héllo ✓", n: 42.5, list: [1, null, true], nested: { deep: ["x"] } };
      const beforeWrite = a.transport.requests;
      const written = await held.write(value);
      expect(a.transport.requests - beforeWrite).toBe(cost("write"));
      const beforeRead = b.transport.requests;
      const read = await b.locker().read(k);
      expect(b.transport.requests - beforeRead).toBe(cost("read"));
      expect(read).toEqual({ value, version: written.version, fence: held.fence });
      expect(written.fence).toBe(held.fence);
      expect(JSON.stringify(read)).not.toContain(held.token);
      await held.release();
    },
  );

  gvTest(
    "the value outlives release and expiry; delete is a write with its own version",
    async () => {
      const [a, b] = [await instance(), await instance()];
      const k = key("outlives");
      // The write must land while the first lease holds: a TTL that outlasts a slow request of a loaded run.
      const first = await lease(a.locker(), k, suite.ttlMs(1));
      const w1 = await first.write(["kept"]);
      await first.release();
      expect(await b.locker().read(k)).toEqual({ value: ["kept"], version: w1.version, fence: first.fence });
      const second = await lease(b.locker(), k, suite.shortTtlMs());
      await sleep(suite.expiryWaitMs(second.ttlMs));
      expect(await a.locker().read(k)).toEqual({ value: ["kept"], version: w1.version, fence: first.fence });
      const third = await lease(a.locker(), k);
      const deleted = await third.deleteValue();
      expect(deleted.version).toBe(w1.version + 1);
      expect(await b.locker().read(k)).toEqual({ value: undefined, version: deleted.version, fence: third.fence });
      const again = await third.write("back");
      expect(again.version).toBe(deleted.version + 1);
      await third.release();
    },
    60_000,
  );

  gvTest(
    "a stale holder (released, expired, taken over) can never write, and nothing changes",
    async () => {
      const [a, b] = [await instance(), await instance()];
      const k = key("stale");
      const backendKey = `${namespace}${k}`;
      const refusedWith = (adapter: LockAdapter, token: string) =>
        adapter.writeValue?.({ key: backendKey, token, json: '"stale"', writeId: newToken() });

      // Released.
      const released = await lease(a.locker(), k);
      const base = await released.write("base");
      await released.release();
      expect(await refusedWith(a.adapter, released.token)).toEqual({ ok: false, reason: "not_held" });
      await expect(released.write("late")).rejects.toBeInstanceOf(StaleWriteError);

      // Expired, nobody took it since: the backend refuses it on its own.
      const expired = await lease(a.locker(), k, suite.shortTtlMs());
      await sleep(suite.expiryWaitMs(expired.ttlMs));
      expect(await refusedWith(a.adapter, expired.token)).toEqual({ ok: false, reason: "not_held" });
      await expect(expired.write("late")).rejects.toBeInstanceOf(StaleWriteError);

      // Taken over by another instance, which writes.
      const paused = await lease(a.locker(), k, suite.shortTtlMs());
      await sleep(suite.expiryWaitMs(paused.ttlMs));
      const next = await lease(b.locker(), k);
      const theirs = await next.write("theirs");
      expect(await refusedWith(a.adapter, paused.token)).toEqual({ ok: false, reason: "not_held" });
      // With a CAS on the version it read before the pause: still refused as not held.
      expect(
        await a.adapter.writeValue?.({
          key: backendKey,
          token: paused.token,
          json: '"stale"',
          writeId: newToken(),
          expectedVersion: theirs.version,
        }),
      ).toEqual({ ok: false, reason: "not_held" });
      expect(await b.locker().read(k)).toEqual({ value: "theirs", version: theirs.version, fence: next.fence });
      expect(theirs.version).toBe(base.version + 1);
      await next.release();
    },
    90_000,
  );

  gvTest("a refused write through the lease throws StaleWriteError and ends the lease", async () => {
    const [a, b] = [await instance(), await instance()];
    const k = key("stale-lease");
    const held = await lease(a.locker(), k);
    // Another instance frees it behind the lease's back (the holder's own token, as a retried release would).
    expect(await b.adapter.release({ key: `${namespace}${k}`, token: held.token })).toEqual({ ok: true });
    const error = await held.write("late").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleWriteError);
    expect((error as StaleWriteError).code).toBe("stale_write");
    expect((error as StaleWriteError).maybeAppliedEarlier).toBe(false);
    expect(held.signal.aborted).toBe(true);
    expect(await b.locker().read(k)).toEqual({ value: undefined, version: 0, fence: 0 });
  });

  gvTest(
    "versions rise on every write and never repeat, across holders, deletes and concurrent writes",
    async () => {
      const [a, b] = [await instance(), await instance()];
      const k = key("versions");
      const seen: number[] = [];
      for (let round = 0; round < 3; round++) {
        const locker = (round % 2 === 0 ? a : b).locker();
        const held = await lease(locker, k);
        seen.push((await held.write({ round })).version);
        const together = await Promise.all([1, 2, 3].map((i) => held.write({ round, i })));
        seen.push(...together.map((w) => w.version).sort((x, y) => x - y));
        seen.push((await held.deleteValue()).version);
        await held.release();
      }
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe((seen[i - 1] ?? 0) + 1);
      expect(new Set(seen).size).toBe(seen.length);
      expect((await a.locker().read(k)).version).toBe(seen.at(-1));
    },
    60_000,
  );

  gvTest(
    "compare-and-set: a stale expected version changes nothing; update retries to a consistent result",
    async () => {
      const [a, b] = [await instance(), await instance()];
      const k = key("cas");
      // Concurrent compare-and-set rounds are slow on a loaded machine: a TTL that outlasts them.
      const held = await lease(a.locker(), k, suite.ttlMs(120));
      const w1 = await held.write(1);
      const error = await held.write(2, { expectedVersion: w1.version - 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VersionConflictError);
      expect((error as VersionConflictError).currentVersion).toBe(w1.version);
      expect(await b.locker().read(k)).toMatchObject({ value: 1, version: w1.version });
      const w2 = await held.write(2, { expectedVersion: w1.version });
      expect(w2.version).toBe(w1.version + 1);
      // Ten concurrent increments by the holder: compare-and-set keeps every one.
      await Promise.all(Array.from({ length: 10 }, () => held.update<number>((n) => (n ?? 0) + 1, { attempts: 30 })));
      expect(await b.locker().read(k)).toMatchObject({ value: 12, version: w2.version + 10 });
      await held.release();
    },
    60_000,
  );

  gvTest(
    "a reader never sees a partial write",
    async () => {
      const [a, b] = [await instance(), await instance()];
      const k = key("partial");
      const size = Math.min(caps()?.maxBytes ?? 65_536, 65_536) - 64;
      const held = await lease(a.locker(), k);
      const written = new Map<number, string>();
      let writing = true;
      const writer = (async () => {
        for (let i = 0; i < 8; i++) {
          const letter = String.fromCharCode(97 + i);
          const { version } = await held.write({ letter, body: letter.repeat(size) });
          written.set(version, letter);
        }
        writing = false;
      })();
      const reads: { value: unknown; version: number }[] = [];
      const reader = b.locker();
      while (writing) reads.push(await reader.read(k));
      await writer;
      reads.push(await reader.read(k));
      expect(reads.length).toBeGreaterThan(1);
      for (const read of reads) {
        if (read.version === 0) continue;
        const { letter, body } = read.value as { letter: string; body: string };
        expect(written.get(read.version)).toBe(letter);
        expect(body).toBe(letter.repeat(size));
      }
      await held.release();
    },
    60_000,
  );

  gvTest(
    "a write whose answer is lost, or comes after the timeout, is applied once",
    async () => {
      const a = await instance();
      const k = key("once");
      const held = await lease(a.locker({ requestTimeoutMs: 1_000 }), k);
      const first = await held.write("first");
      const injected = a.transport.injected;
      a.transport.loseNext(1);
      const lost = await held.write("lost answer");
      a.transport.delayNext(2_500);
      const late = await held.write("late answer");
      expect(a.transport.injected).toBe(injected + 2);
      expect(lost.version).toBe(first.version + 1);
      expect(late.version).toBe(first.version + 2);
      expect(await a.locker().read(k)).toMatchObject({ value: "late answer", version: first.version + 2 });
      await held.release();
    },
    30_000,
  );

  gvTest(
    "concurrent holders on separate instances under lost answers: exactly their writes, in grant order",
    async () => {
      const contenders = await Promise.all([1, 2, 3, 4].map(() => instance()));
      const k = key("order");
      const rounds = 3;
      const appended: number[] = [];
      await Promise.all(
        contenders.map(async (one, index) => {
          const locker = one.locker();
          for (let round = 0; round < rounds; round++) {
            const held = await lease(locker, k);
            // Lose the answer of the write's first attempt on every other round: the retry must not apply it twice.
            if ((round + index) % 2 === 0) one.transport.loseNext(1);
            await held.update<number[]>((list) => [...(list ?? []), held.fence], { attempts: 10 });
            appended.push(held.fence);
            await held.release();
          }
        }),
      );
      // A paused holder of an earlier grant comes back: refused.
      const stale = await lease((contenders[0] as Instance).locker(), k, suite.shortTtlMs());
      await sleep(suite.expiryWaitMs(stale.ttlMs));
      const last = await lease((contenders[1] as Instance).locker(), k);
      await last.release();
      const late = await (contenders[0] as Instance).adapter.writeValue?.({
        key: `${namespace}${k}`,
        token: stale.token,
        json: "[]",
        writeId: newToken(),
      });
      expect(late).toEqual({ ok: false, reason: "not_held" });
      const { value, version } = await (contenders[2] as Instance).locker().read<number[]>(k);
      const sorted = [...appended].sort((x, y) => x - y);
      expect(value).toEqual(sorted);
      expect(value).toHaveLength(contenders.length * rounds);
      expect(new Set(value).size).toBe(value?.length);
      expect(version).toBeGreaterThanOrEqual(contenders.length * rounds);
    },
    120_000,
  );

  gvTest(
    "non-JSON and oversized values are InvalidArgumentError before any request",
    async () => {
      const a = await instance();
      const k = key("bad");
      const held = await lease(a.locker(), k);
      const max = caps()?.maxBytes ?? 0;
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const before = a.transport.requests;
      for (const bad of [
        undefined,
        () => 1,
        Symbol("s"),
        10n,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        new Date(0),
        new Map(),
        cyclic,
        [1, undefined],
        { nested: { fn: () => 1 } },
        "x".repeat(max),
      ]) {
        await expect(held.write(bad)).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      for (const version of [-1, 1.5, Number.NaN, "1"]) {
        await expect(held.write(1, { expectedVersion: version as number })).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
      }
      await expect(a.locker().read("")).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(a.transport.requests).toBe(before);
      // Exactly the limit is accepted.
      const fits = await held.write("y".repeat(max - 2));
      expect(fits.version).toBeGreaterThan(0);
      await held.release();
    },
    60_000,
  );
}
