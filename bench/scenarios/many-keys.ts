/**
 * Many keys: `manyKeysConcurrency` workers cycle through `manyKeys`
 * independent keys (acquire → release), never on the same key at once.
 * What it shows: throughput when locks do not contend, i.e. the backend's
 * and the client's per-request overhead under parallel load. Worker `w`
 * uses `workers[w]`: its own instance (fair run) or one shared by all.
 */
import type { BenchConfig } from "../config.js";
import type { Contender, LockDriver } from "../driver.js";
import { median, now } from "../measure.js";

export interface ManyKeysResult {
  /** acquire → release cycles per second (median round). */
  readonly cyclesPerSecond: number;
  readonly requestsPerCycle: number;
  /** Cycles done over all rounds. */
  readonly cycles: number;
}

export class ManyKeysSamples {
  readonly rounds: { cycles: number; seconds: number; requests: number }[] = [];

  result(): ManyKeysResult {
    const cycles = this.rounds.reduce((sum, r) => sum + r.cycles, 0);
    const requests = this.rounds.reduce((sum, r) => sum + r.requests, 0);
    return {
      cyclesPerSecond: median(this.rounds.map((r) => r.cycles / r.seconds)),
      requestsPerCycle: requests / cycles,
      cycles,
    };
  }
}

export async function manyKeysRound(
  driver: LockDriver,
  workers: readonly Contender[],
  config: BenchConfig,
  samples: ManyKeysSamples,
): Promise<void> {
  const concurrency = workers.length;
  const perWorker = Math.ceil(config.manyKeysCycles / concurrency);
  const keysPerWorker = config.manyKeys / concurrency;
  const before = driver.meter.requests;
  const start = now();
  const deadline = start + config.roundBudgetMs.manyKeys;
  let cycles = 0;
  await Promise.all(
    workers.map(async (contender, w) => {
      for (let i = 0; i < perWorker && now() < deadline; i++) {
        // Worker w owns keys w, w+C, w+2C…: parallel, never contended.
        const key = `many-${w + (i % keysPerWorker) * concurrency}`;
        const held = await contender.tryAcquire(key, config.ttlMs);
        if (!held) throw new Error(`${driver.name}: uncontended key "${key}" was refused`);
        await held.release();
        cycles++;
      }
    }),
  );
  samples.rounds.push({
    cycles,
    seconds: (now() - start) / 1000,
    requests: driver.meter.requests - before,
  });
}
