/**
 * Contention: `contenders` workers take turns on one key (acquire with
 * wait, 1–2 ms of work, release) until `handoffs` acquisitions happened.
 * What it shows: how quickly a freed lock reaches the next waiter, and how
 * many backend requests waiting costs. Worker `i` uses `workers[i]`: its
 * own instance (the fair run) or the same one for all (the shared run).
 */
import type { BenchConfig } from "../config.js";
import type { Contender, LockDriver } from "../driver.js";
import { median, now, percentile, sleep } from "../measure.js";

export interface ContentionResult {
  /** Median over rounds. */
  readonly handoffsPerSecond: number;
  /** Backend requests (acquire polls and releases) per successful acquisition, over all rounds. */
  readonly requestsPerAcquisition: number;
  /** Time from calling acquire until it was granted, ms, over all rounds. */
  readonly waitP50: number;
  readonly waitP99: number;
  readonly acquisitions: number;
}

interface Round {
  readonly acquisitions: number;
  readonly seconds: number;
  readonly requests: number;
}

export class ContentionSamples {
  readonly rounds: Round[] = [];
  readonly waits: number[] = [];

  result(): ContentionResult {
    const acquisitions = this.rounds.reduce((sum, r) => sum + r.acquisitions, 0);
    const requests = this.rounds.reduce((sum, r) => sum + r.requests, 0);
    return {
      handoffsPerSecond: median(this.rounds.map((r) => r.acquisitions / r.seconds)),
      requestsPerAcquisition: requests / acquisitions,
      waitP50: percentile(this.waits, 50),
      waitP99: percentile(this.waits, 99),
      acquisitions,
    };
  }
}

export async function contentionRound(
  driver: LockDriver,
  workers: readonly Contender[],
  config: BenchConfig,
  samples: ContentionSamples,
  key: string,
): Promise<void> {
  let acquisitions = 0;
  let inside = 0;
  const deadline = now() + config.roundBudgetMs.contention;
  const worker = async (id: number) => {
    // Every worker starts waiting at once; once the target (or the time
    // budget) is reached a worker stops asking, so only those already
    // waiting finish.
    while (acquisitions < config.handoffs && now() < deadline) {
      const start = now();
      const held = await (workers[id] as Contender).acquire(key, config.ttlMs, config.waitMs);
      samples.waits.push(now() - start);
      acquisitions++;
      // Mutual exclusion is what is being paid for: check it.
      if (++inside !== 1) throw new Error(`${driver.name}: two holders of "${key}" at once`);
      await sleep(1 + ((id + acquisitions) % 2));
      inside--;
      await held.release();
    }
  };
  const before = driver.meter.requests;
  const start = now();
  await Promise.all(workers.map((_, id) => worker(id)));
  samples.rounds.push({ acquisitions, seconds: (now() - start) / 1000, requests: driver.meter.requests - before });
}
