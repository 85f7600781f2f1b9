import { expect } from "vitest";
import type { Semaphore } from "../../src/index.js";
import { sleep } from "./timing.js";

/** How a churn of permit holders runs: each worker on its own semaphore (its own adapter instance). */
export interface PermitChurn {
  /** The semaphore of worker `i`, on an instance of its own. */
  readonly semaphore: (i: number) => Semaphore;
  readonly limit: number;
  readonly workers: number;
  /** How long each holder keeps its permit, ms. */
  readonly holdMs: number;
  /** Each acquisition's wait, ms. */
  readonly waitMs: number;
  /** How long the workers keep taking turns, ms. Default 5 000. */
  readonly forMs?: number;
}

/**
 * Workers take permits in turn until the time is up, counting who is
 * inside: the limit is never exceeded, and it was reached (so the check
 * could have failed), and more permits than the limit were granted.
 */
export async function expectLimitHolds(churn: PermitChurn): Promise<void> {
  let inside = 0;
  let most = 0;
  let runs = 0;
  const deadline = Date.now() + (churn.forMs ?? 5_000);
  const worker = async (i: number) => {
    const semaphore = churn.semaphore(i);
    while (Date.now() < deadline) {
      const result = await semaphore.withPermit(
        async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(churn.holdMs);
          inside--;
        },
        { ttlMs: 10_000, waitMs: churn.waitMs },
      );
      if (result.ran) runs++;
    }
  };
  await Promise.all(Array.from({ length: churn.workers }, (_, i) => worker(i)));
  expect(runs).toBeGreaterThan(churn.limit);
  expect(most).toBeLessThanOrEqual(churn.limit);
  expect(most).toBe(churn.limit);
}
