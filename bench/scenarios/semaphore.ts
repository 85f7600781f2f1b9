/**
 * Semaphore contention: `contenders` workers, each on its own instance,
 * take permits of one semaphore of `semaphoreLimit` (acquire with wait,
 * 1–2 ms of work, release) until `permits` grants happened. The lock's
 * contention scenario is the same loop with a limit of 1, so the two rates
 * sit side by side. The bench checks that never more than the limit hold
 * a permit at once.
 */
import type { BenchConfig } from "../config.js";
import type { Contender, LockDriver } from "../driver.js";
import { median, now, percentile, sleep } from "../measure.js";

export interface SemaphoreResult {
  /** Median over rounds. */
  readonly permitsPerSecond: number;
  /** Backend requests (acquire polls and releases) per permit granted, over all rounds. */
  readonly requestsPerPermit: number;
  /** From calling acquire until the permit was granted, ms, over all rounds. */
  readonly waitP50: number;
  readonly waitP99: number;
  readonly permits: number;
}

export class SemaphoreSamples {
  readonly rounds: { permits: number; seconds: number; requests: number }[] = [];
  readonly waits: number[] = [];

  result(): SemaphoreResult {
    const permits = this.rounds.reduce((sum, r) => sum + r.permits, 0);
    const requests = this.rounds.reduce((sum, r) => sum + r.requests, 0);
    return {
      permitsPerSecond: median(this.rounds.map((r) => r.permits / r.seconds)),
      requestsPerPermit: requests / permits,
      waitP50: percentile(this.waits, 50),
      waitP99: percentile(this.waits, 99),
      permits,
    };
  }
}

export async function semaphoreRound(
  driver: LockDriver,
  workers: readonly Contender[],
  config: BenchConfig,
  samples: SemaphoreSamples,
  key: string,
): Promise<void> {
  const limit = config.semaphoreLimit;
  let permits = 0;
  let inside = 0;
  const deadline = now() + config.roundBudgetMs.semaphore;
  const worker = async (contender: Contender, id: number) => {
    if (!contender.acquirePermit) throw new Error(`${driver.name}: no semaphores`);
    while (permits < config.permits && now() < deadline) {
      const start = now();
      const held = await contender.acquirePermit(key, limit, config.ttlMs, config.waitMs);
      samples.waits.push(now() - start);
      permits++;
      if (++inside > limit) throw new Error(`${driver.name}: ${inside} holders of "${key}" (limit ${limit})`);
      await sleep(1 + ((id + permits) % 2));
      inside--;
      await held.release();
    }
  };
  const before = driver.meter.requests;
  const start = now();
  await Promise.all(workers.map(worker));
  samples.rounds.push({ permits, seconds: (now() - start) / 1000, requests: driver.meter.requests - before });
}
