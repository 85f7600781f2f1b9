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

export async function uncontended(driver: LockDriver, config: BenchConfig): Promise<UncontendedResult> {
  const key = "uncontended";
  const ops = { acquire: new Sample(), extend: new Sample(), release: new Sample() };
  const total = config.warmupCycles + config.uncontendedCycles;
  for (let i = 0; i < total; i++) {
    // Warm-up cycles (connections, script loading, table creation) are run but not kept.
    const keep = i >= config.warmupCycles;
    const held = await ops.acquire.time(driver, keep, () => driver.tryAcquire(key, config.ttlMs));
    if (!held) throw new Error(`${driver.name}: uncontended acquire of "${key}" was refused`);
    await ops.extend.time(driver, keep, () => held.extend(config.ttlMs));
    await ops.release.time(driver, keep, () => held.release());
  }
  return { acquire: ops.acquire.result(), extend: ops.extend.result(), release: ops.release.result() };
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
