/**
 * Uncontended: one key, nobody else around. Each cycle is acquire → extend
 * → release, each timed and its requests counted separately.
 */
import type { BenchConfig } from "../config.js";
import type { LockDriver } from "../driver.js";
import { type Latency, latency, now } from "../measure.js";

export interface OperationResult {
  /** Mean backend requests per operation. */
  readonly requests: number;
  readonly latency: Latency;
}

export interface UncontendedResult {
  readonly acquire: OperationResult;
  readonly extend: OperationResult;
  readonly release: OperationResult;
}

/** Raw samples of one driver, accumulated over rounds. */
export class UncontendedSamples {
  readonly acquire = new Sample();
  readonly extend = new Sample();
  readonly release = new Sample();

  result(): UncontendedResult {
    return { acquire: this.acquire.result(), extend: this.extend.result(), release: this.release.result() };
  }
}

/** One round: `cycles` measured cycles, after `warmup` unmeasured ones (connections, scripts, tables). */
export async function uncontendedRound(
  driver: LockDriver,
  config: BenchConfig,
  samples: UncontendedSamples,
  warmup: number,
): Promise<void> {
  const key = "uncontended";
  const contender = driver.shared;
  const cycles = Math.ceil(config.uncontendedCycles / config.rounds);
  let deadline = Number.POSITIVE_INFINITY;
  for (let i = 0; i < warmup + cycles && now() < deadline; i++) {
    if (i === warmup) deadline = now() + config.roundBudgetMs.uncontended;
    const keep = i >= warmup;
    const held = await samples.acquire.time(driver, keep, () => contender.tryAcquire(key, config.ttlMs));
    if (!held) throw new Error(`${driver.name}: uncontended acquire of "${key}" was refused`);
    await samples.extend.time(driver, keep, () => held.extend(config.ttlMs));
    await samples.release.time(driver, keep, () => held.release());
  }
}

class Sample {
  readonly #ms: number[] = [];
  #requests = 0;

  async time<T>(driver: LockDriver, keep: boolean, fn: () => Promise<T>): Promise<T> {
    const before = driver.meter.requests;
    const start = now();
    const value = await fn();
    if (keep) {
      this.#ms.push(now() - start);
      this.#requests += driver.meter.requests - before;
    }
    return value;
  }

  result(): OperationResult {
    return { requests: this.#requests / this.#ms.length, latency: latency(this.#ms) };
  }
}
