/**
 * Contention: `contenders` workers take turns on one key (acquire with
 * wait, 1–2 ms of work, release) until `handoffs` acquisitions happened.
 * What it shows: how quickly a freed lock reaches the next waiter, and how
 * many backend requests waiting costs.
 */
import type { BenchConfig } from "../config.js";
import type { LockDriver } from "../driver.js";
import { median, now, percentile, sleep } from "../measure.js";

export interface ContentionResult {
  readonly handoffsPerSecond: number;
  /** Backend requests (acquire polls and releases) per successful acquisition. */
  readonly requestsPerAcquisition: number;
  /** Time from calling acquire until it was granted, ms. */
  readonly waitP50: number;
  readonly waitP99: number;
  readonly acquisitions: number;
}

export async function contention(driver: LockDriver, config: BenchConfig): Promise<ContentionResult> {
  const rounds: ContentionResult[] = [];
  const waits: number[] = [];
  for (let round = 0; round < config.rounds; round++) {
    rounds.push(await contentionRound(driver, config, `contended-${round}`, waits));
  }
  return {
    handoffsPerSecond: median(rounds.map((r) => r.handoffsPerSecond)),
    requestsPerAcquisition: median(rounds.map((r) => r.requestsPerAcquisition)),
    waitP50: percentile(waits, 50),
    waitP99: percentile(waits, 99),
    acquisitions: rounds.reduce((sum, r) => sum + r.acquisitions, 0),
  };
}

async function contentionRound(
  driver: LockDriver,
  config: BenchConfig,
  key: string,
  waits: number[],
): Promise<ContentionResult> {
  let acquisitions = 0;
  let inside = 0;
  const roundWaits: number[] = [];
  const worker = async (id: number) => {
    // Every worker starts waiting at once; once the target is reached a
    // worker stops asking, so only the few already waiting finish.
    while (acquisitions < config.handoffs) {
      const start = now();
      const held = await driver.acquire(key, config.ttlMs, config.waitMs);
      roundWaits.push(now() - start);
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
  await Promise.all(Array.from({ length: config.contenders }, (_, id) => worker(id)));
  const seconds = (now() - start) / 1000;
  waits.push(...roundWaits);
  return {
    handoffsPerSecond: acquisitions / seconds,
    requestsPerAcquisition: (driver.meter.requests - before) / acquisitions,
    waitP50: percentile(roundWaits, 50),
    waitP99: percentile(roundWaits, 99),
    acquisitions,
  };
}
