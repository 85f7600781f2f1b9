/**
 * Sizes of the benchmark runs. `BENCH_QUICK=1` shrinks every count about
 * tenfold for development runs on a shared machine; the numbers it prints
 * are too noisy to publish.
 */
const quick = process.env.BENCH_QUICK === "1";

export interface BenchConfig {
  readonly quick: boolean;
  /** Uncontended acquire → extend → release cycles measured (after warm-up). */
  readonly uncontendedCycles: number;
  readonly warmupCycles: number;
  /** Workers taking turns on one key. */
  readonly contenders: number;
  /** Hand-offs per contention round. */
  readonly handoffs: number;
  /** Rounds of the throughput scenarios; the median round is reported. */
  readonly rounds: number;
  /** Independent keys and parallel workers of the many-keys scenario. */
  readonly manyKeys: number;
  readonly manyKeysConcurrency: number;
  /** acquire → release cycles per many-keys round. */
  readonly manyKeysCycles: number;
  /** Permits of the semaphore scenario's one key (its `contenders` workers contend for them). */
  readonly semaphoreLimit: number;
  /** Permits granted per semaphore round. */
  readonly permits: number;
  /** Length of one round of the client-cost measurement, ms, and how many interleaved rounds per setting. */
  readonly clientCost: { readonly roundMs: number; readonly rounds: number };
  /**
   * Longest time one round of a scenario may take, ms: slow backends stop
   * early (the counts actually done are reported), so the whole run stays
   * within a few minutes on a loaded machine.
   */
  readonly roundBudgetMs: {
    readonly uncontended: number;
    readonly contention: number;
    readonly manyKeys: number;
    readonly semaphore: number;
  };
  /**
   * Overrides edgelock's polling backoff (`BENCH_BACKOFF=baseMs,maxMs`), to
   * see what a different setting does to contention; default: the lock
   * client's own defaults.
   */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number } | undefined;
  /** TTL of every lock taken, ms: long enough that nothing expires mid-run. */
  readonly ttlMs: number;
  /** Longest wait of a contender, ms. */
  readonly waitMs: number;
}

export const config: BenchConfig = {
  quick,
  uncontendedCycles: quick ? 30 : 300,
  warmupCycles: quick ? 3 : 20,
  contenders: 16,
  handoffs: quick ? 32 : 160,
  rounds: quick ? 2 : 3,
  manyKeys: 64,
  manyKeysConcurrency: 16,
  manyKeysCycles: quick ? 128 : 640,
  semaphoreLimit: 4,
  permits: quick ? 64 : 320,
  clientCost: quick ? { roundMs: 60, rounds: 9 } : { roundMs: 150, rounds: 21 },
  roundBudgetMs: quick
    ? { uncontended: 800, contention: 800, manyKeys: 500, semaphore: 800 }
    : { uncontended: 3_000, contention: 3_000, manyKeys: 1_500, semaphore: 3_000 },
  backoff: parseBackoff(process.env.BENCH_BACKOFF),
  ttlMs: 20_000,
  waitMs: 60_000,
};

/** `BENCH_ONLY=memory,upstash` runs only the targets whose name contains one of the words. */
export function selected(name: string): boolean {
  const only = process.env.BENCH_ONLY;
  if (!only) return true;
  return only
    .split(",")
    .map((word) => word.trim().toLowerCase())
    .some((word) => word !== "" && name.toLowerCase().includes(word));
}

function parseBackoff(value: string | undefined): BenchConfig["backoff"] {
  if (!value) return undefined;
  const [baseMs, maxMs] = value.split(",").map(Number);
  if (!Number.isInteger(baseMs) || !Number.isInteger(maxMs))
    throw new Error(`BENCH_BACKOFF="${value}": want baseMs,maxMs`);
  return { baseMs: baseMs as number, maxMs: maxMs as number };
}
