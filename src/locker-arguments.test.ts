import { describe, expect, test } from "vitest";
import { memoryAdapter } from "../adapters/memory/index.js";
import { createLocker, InvalidArgumentError, type LockAdapter } from "./index.js";

// Every public function refuses bad arguments with InvalidArgumentError
// before any backend request.
function counted(): { adapter: LockAdapter; calls: () => number } {
  const base = memoryAdapter();
  let calls = 0;
  const count =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    (...args: A): R => {
      calls++;
      return f(...args);
    };
  const adapter: LockAdapter = {
    capabilities: base.capabilities,
    acquire: count(base.acquire),
    extend: count(base.extend),
    release: count(base.release),
    inspect: count(base.inspect),
  };
  return { adapter, calls: () => calls };
}

const notObjects: unknown[] = [null, "fast", 42, true, [], () => {}];
const notSignals: unknown[] = ["abort", 1, {}, { aborted: false }, null];

describe("bad arguments are refused before any request", () => {
  const { adapter, calls } = counted();
  const locker = createLocker({ adapter });
  const refuses = async (what: string, run: () => unknown) => {
    const before = calls();
    let error: unknown;
    try {
      await run();
    } catch (e) {
      error = e;
    }
    expect(error, what).toBeInstanceOf(InvalidArgumentError);
    expect(calls(), what).toBe(before);
  };
  const calls4 = (options: unknown): Array<[string, () => unknown]> => [
    ["tryAcquire", () => locker.tryAcquire("k", options as never)],
    ["acquire", () => locker.acquire("k", options as never)],
    ["withLock", () => locker.withLock("k", () => 1, options as never)],
    ["inspect", () => locker.inspect("k", options as never)],
  ];

  test("options that are not objects", async () => {
    for (const options of notObjects) {
      for (const [name, run] of calls4(options)) await refuses(`${name}(${String(options)})`, run);
    }
  });

  test("signals that are not AbortSignals", async () => {
    for (const signal of notSignals) {
      for (const [name, run] of calls4({ signal })) await refuses(`${name} signal ${String(signal)}`, run);
    }
  });

  test("bad time limits", async () => {
    for (const timeoutMs of [0, -1, 1.5, "100", Number.NaN, null]) {
      for (const [name, run] of calls4({ timeoutMs })) await refuses(`${name} timeoutMs ${String(timeoutMs)}`, run);
    }
  });

  test("withLock: negative or non-integer waitMs, non-function fn, non-boolean autoExtend", async () => {
    for (const waitMs of [-5, -1, 1.5, "10", null]) {
      await refuses(`withLock waitMs ${String(waitMs)}`, () => locker.withLock("k", () => 1, { waitMs } as never));
    }
    for (const fn of [42, null, undefined, "fn", {}]) {
      await refuses(`withLock fn ${String(fn)}`, () => locker.withLock("k", fn as never));
    }
    for (const autoExtend of ["yes", 1, null]) {
      await refuses(`withLock autoExtend ${String(autoExtend)}`, () =>
        locker.withLock("k", () => 1, { autoExtend } as never),
      );
    }
    expect(await locker.inspect("k")).toEqual({ held: false });
  });

  test("lease.extend with a bad TTL", async () => {
    const lease = await locker.tryAcquire("lease");
    for (const ttlMs of [0, -1, "5", null, 1.5])
      await refuses(`extend ${String(ttlMs)}`, () => lease?.extend(ttlMs as never));
    await lease?.release();
  });

  test("createLocker: every option is checked", () => {
    const good = { adapter };
    const bad: Array<Record<string, unknown>> = [
      { adapter: null },
      { adapter: {} },
      { adapter: { ...adapter, capabilities: undefined } },
      { ...good, namespace: 5 },
      { ...good, defaultTtlMs: -1 },
      { ...good, defaultWaitMs: "1" },
      { ...good, requestTimeoutMs: 0 },
      { ...good, retries: -1 },
      { ...good, retries: 1.5 },
      { ...good, timeoutMs: 0 },
      { ...good, backoff: "fast" },
      { ...good, backoff: { baseMs: -1 } },
      { ...good, backoff: { maxMs: "1" } },
      { ...good, onBackgroundError: "log" },
    ];
    for (const options of [...bad, ...notObjects]) {
      expect(() => createLocker(options as never), JSON.stringify(options)).toThrow(InvalidArgumentError);
    }
  });
});
