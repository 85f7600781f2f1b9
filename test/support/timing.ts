/**
 * Time helpers of the tests, written once: a plain delay and the one
 * percentile rule (nearest rank, as `bench/measure.ts` reports), so a
 * bound derived from a run's own latencies means the same everywhere.
 *
 * @module
 */

/** Resolve after `ms`. Tests wait on backends and TTLs with it; `src/timing.ts` has the abortable one. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Nearest-rank percentile of `samples` (0 < p ≤ 100): the smallest sample
 * with at least `p` % of the samples at or below it. NaN when empty.
 *
 * @example
 * ```ts
 * percentile([5, 1, 3, 2, 4], 50); // 3
 * ```
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Resolve once `condition()` holds, checked every 10 ms; reject after `timeoutMs` with what was awaited. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const endsAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > endsAt) throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`);
    await sleep(10);
  }
}
