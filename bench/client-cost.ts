/**
 * The lock client's own CPU cost: tryAcquire + release cycles on the memory
 * adapter (no I/O), with the locker's defaults (per-request timeouts,
 * cancellation, lease signals). Run: `npx tsx bench/client-cost.ts`;
 * `EVENTS=1` adds a no-op `onEvent` listener, to compare telemetry on and off.
 */
import { createLocker, memoryAdapter } from "../src/index.js";

const CYCLES = Number(process.env.CYCLES ?? 200_000);
const ROUNDS = 5;

async function round(keys: number): Promise<number> {
  const locker = createLocker({
    adapter: memoryAdapter(),
    ...(process.env.EVENTS === "1" ? { onEvent: () => undefined } : {}),
  });
  const started = performance.now();
  for (let i = 0; i < CYCLES; i++) {
    const lease = await locker.tryAcquire(`key-${i % keys}`, { ttlMs: 30_000 });
    if (!lease) throw new Error("expected a grant");
    await lease.release();
  }
  return CYCLES / ((performance.now() - started) / 1000);
}

for (const keys of [1, 10_000]) {
  await round(keys); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) rates.push(await round(keys));
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(ROUNDS / 2)] ?? 0;
  console.log(
    `${keys} key(s): median ${Math.round(median).toLocaleString("en")} cycles/s (${(1e6 / median).toFixed(2)} µs/cycle), range ${Math.round(rates[0] ?? 0)}–${Math.round(rates[ROUNDS - 1] ?? 0)}`,
  );
}
