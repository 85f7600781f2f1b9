import { describe, expect, test } from "vitest";
import { memoryAdapter } from "../adapters/memory/index.js";
import { createFenceGate, createLocker, InvalidArgumentError, StaleFenceError } from "./index.js";

describe("fence gate", () => {
  test("a holder pauses past its TTL, another takes over and writes, the paused holder's late write is refused", async () => {
    let clock = 1_000;
    const locker = createLocker({ adapter: memoryAdapter({ now: () => clock }) });
    const gate = createFenceGate();
    const written: string[] = [];
    const paused = await locker.acquire("file", { ttlMs: 1_000 });
    clock += 5_000; // the holder is frozen; its lock expires
    const next = await locker.acquire("file", { ttlMs: 1_000 });
    await gate.run("file", next.fence, () => written.push("next"));
    await gate.run("file", next.fence, () => written.push("next again"));
    const late = await gate.run("file", paused.fence, () => written.push("paused")).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(StaleFenceError);
    expect(late).toMatchObject({ code: "stale_fence", fence: paused.fence, highest: next.fence });
    expect(written).toEqual(["next", "next again"]);
    expect(gate.highest("file")).toBe(next.fence);
    expect(gate.highest("other")).toBe(0);
  });

  test("once refuses a repeat; resources are independent; bad input is refused", async () => {
    const gate = createFenceGate();
    gate.admit("a", 3, { once: true });
    expect(() => gate.admit("a", 3, { once: true })).toThrow(StaleFenceError);
    gate.admit("b", 1);
    for (const fence of [0, -2, 1.5, Number.NaN]) expect(() => gate.admit("a", fence)).toThrow(InvalidArgumentError);
    await expect(gate.run("a", 4, undefined as unknown as () => void)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(gate.highest("a")).toBe(3);
  });
});
