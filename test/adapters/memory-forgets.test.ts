import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, test } from "vitest";
import { memoryAdapter } from "../../adapters/memory/index.js";
import { newToken } from "../../src/index.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

test("the memory adapter forgets idle keys: 150 000 short-lived keys leave no state behind", async () => {
  const adapter = memoryAdapter();
  const run = async (round: number) => {
    for (let i = 0; i < 25_000; i++) {
      const key = `released-${round}-${i}-${"x".repeat(40)}`;
      const token = newToken();
      await adapter.acquire({ key, token, ttlMs: 60_000 });
      await adapter.release({ key, token });
      // Never released and never touched again: only expiry frees it.
      await adapter.acquire({ key: `expired-${round}-${i}-${"x".repeat(40)}`, token, ttlMs: 1 });
    }
  };
  await run(0); // warm-up: code, maps at their working size
  await new Promise((resolve) => setTimeout(resolve, 5));
  const before = heapAfterGc();
  await run(1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  await run(2);
  const grown = heapAfterGc() - before;
  // Keeping one fence (and one expired holder) per key holds about 40 MB for
  // these 100 000 keys; what may be left is expired holders not yet swept.
  expect(grown).toBeLessThan(6 * 1024 * 1024);
});

test("fences still rise per key after its state was forgotten", async () => {
  const adapter = memoryAdapter();
  const token = newToken();
  const first = await adapter.acquire({ key: "k", token, ttlMs: 60_000 });
  await adapter.release({ key: "k", token });
  for (let i = 0; i < 5_000; i++) await adapter.acquire({ key: `other-${i}`, token: newToken(), ttlMs: 1 });
  await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < 5_000; i++) await adapter.acquire({ key: `more-${i}`, token: newToken(), ttlMs: 1 });
  const again = await adapter.acquire({ key: "k", token: newToken(), ttlMs: 60_000 });
  if (!first.ok || !again.ok) throw new Error("expected grants");
  expect(again.fence).toBeGreaterThan(first.fence);
  // A retry by the holder keeps its fence.
  const [holderToken] = [newToken()];
  const held = await adapter.acquire({ key: "h", token: holderToken, ttlMs: 60_000 });
  const retried = await adapter.acquire({ key: "h", token: holderToken, ttlMs: 60_000 });
  if (!held.ok || !retried.ok) throw new Error("expected grants");
  expect(retried.fence).toBe(held.fence);
});
