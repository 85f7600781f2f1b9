/**
 * `npm run bench`: starts every local backend the tests use, runs the same
 * scenarios on edgelock's adapters and on peer libraries sharing those
 * backends, and prints Markdown tables. `BENCH_QUICK=1` for a short run,
 * `BENCH_ONLY=memory,upstash` to pick backends, `BENCH_OUT=file.md` to also
 * write the tables to a file.
 */
import { writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { type Backend, missingFiles, type Started } from "./backends.js";
import { bundleSizes } from "./bundle-size.js";
import { config, selected } from "./config.js";
import type { LockDriver } from "./driver.js";
import { now } from "./measure.js";
import { bundleTable, type DriverResult, type PeerPair, ratioTable, resultsTable } from "./report.js";
import { ContentionSamples, contentionRound } from "./scenarios/contention.js";
import { ManyKeysSamples, manyKeysRound } from "./scenarios/many-keys.js";
import { UncontendedSamples, uncontendedRound } from "./scenarios/uncontended.js";
import { BACKENDS, PEER_PAIRS } from "./targets.js";
import { workerSize } from "./worker-size.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Running {
  readonly driver: LockDriver;
  readonly uncontended: UncontendedSamples;
  readonly contention: ContentionSamples;
  readonly manyKeys: ManyKeysSamples;
  failed?: string;
}

/**
 * Run every scenario round by round, alternating the drivers that share a
 * backend (A B, B A, A B…), so that noise from the shared machine and
 * warm-up order weigh on edgelock and its peer alike.
 */
async function runDrivers(drivers: readonly LockDriver[], results: DriverResult[], problems: string[]): Promise<void> {
  const running: Running[] = drivers.map((driver) => ({
    driver,
    uncontended: new UncontendedSamples(),
    contention: new ContentionSamples(),
    manyKeys: new ManyKeysSamples(),
  }));
  const phases: ((r: Running, round: number) => Promise<void>)[] = [
    (r, round) => uncontendedRound(r.driver, config, r.uncontended, round === 0 ? config.warmupCycles : 0),
    (r, round) => contentionRound(r.driver, config, r.contention, round),
    (r) => manyKeysRound(r.driver, config, r.manyKeys),
  ];
  for (const phase of phases) {
    for (let round = 0; round < config.rounds; round++) {
      const order = round % 2 === 0 ? running : [...running].reverse();
      for (const r of order) {
        if (r.failed) continue;
        try {
          const body = () => phase(r, round);
          await (r.driver.scope ? r.driver.scope(body) : body());
        } catch (error) {
          r.failed = describe(error);
          problems.push(`${r.driver.name}: FAILED, ${r.failed}`);
          log(`! ${r.driver.name}: FAILED, ${r.failed}`);
        }
      }
    }
  }
  for (const r of running) {
    if (r.failed) continue;
    const { name, backend, counting } = r.driver;
    const result = {
      name,
      backend,
      counting,
      uncontended: r.uncontended.result(),
      contention: r.contention.result(),
      manyKeys: r.manyKeys.result(),
    };
    results.push(result);
    log(
      `  ${name}: acquire p50 ${result.uncontended.acquire.latency.p50.toFixed(2)} ms, ${result.contention.handoffsPerSecond.toFixed(1)} hand-offs/s`,
    );
  }
}

async function runBackend(backend: Backend, results: DriverResult[], problems: string[]): Promise<void> {
  const missing = missingFiles(backend);
  if (missing.length > 0) {
    problems.push(`${backend.name}: SKIPPED, missing ${missing.join(", ")}`);
    log(`! ${backend.name}: SKIPPED, missing ${missing.join(", ")}`);
    return;
  }
  log(`• ${backend.name}: starting`);
  const begun = now();
  let started: Started | undefined;
  try {
    started = await backend.start();
    await runDrivers(started.drivers, results, problems);
  } catch (error) {
    problems.push(`${backend.name}: FAILED to start, ${describe(error)}`);
    log(`! ${backend.name}: FAILED to start, ${describe(error)}`);
  } finally {
    for (const driver of started?.drivers ?? [])
      await driver.close().catch((error: unknown) => log(`! close: ${describe(error)}`));
    await started?.stop();
    log(`  ${backend.name}: ${((now() - begun) / 1000).toFixed(1)} s`);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : "";
  return `${error.name}: ${error.message}${cause}`;
}

async function main(): Promise<void> {
  const start = now();
  const results: DriverResult[] = [];
  const problems: string[] = [];
  for (const backend of BACKENDS) {
    if (selected(backend.name)) await runBackend(backend, results, problems);
  }
  log("• bundle sizes (esbuild) and Worker upload size (wrangler --dry-run)");
  const [sizes, worker] = [await bundleSizes(), await workerSize()];

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const lines = [
    `edgelock bench, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()} cores (${cpu}), ${config.quick ? "BENCH_QUICK=1 (indicative only)" : "full run"}`,
    `uncontended: ${config.uncontendedCycles} cycles after ${config.warmupCycles} warm-up; contention: ${config.contenders} workers, ${config.handoffs} hand-offs × ${config.rounds} rounds; many keys: ${config.manyKeys} keys, concurrency ${config.manyKeysConcurrency}, ${config.manyKeysCycles} cycles × ${config.rounds} rounds; TTL ${config.ttlMs} ms; round budgets ${config.roundBudgetMs.uncontended} / ${config.roundBudgetMs.contention} / ${config.roundBudgetMs.manyKeys} ms${config.backoff ? `; edgelock backoff ${config.backoff.baseMs}–${config.backoff.maxMs} ms (BENCH_BACKOFF)` : ""}`,
    "",
    resultsTable(results),
    "",
    "Ratios edgelock / peer (latency and requests: lower is better; ↑ columns: higher is better):",
    "",
    ratioTable(results, PEER_PAIRS satisfies readonly PeerPair[]),
    "",
    bundleTable(sizes, worker),
    "",
    ...(problems.length > 0 ? ["Not measured:", ...problems.map((p) => `- ${p}`), ""] : []),
    `total bench time ${((now() - start) / 1000).toFixed(0)} s`,
  ];
  const output = lines.join("\n");
  process.stdout.write(`${output}\n`);
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, `${output}\n`);
  if (problems.length > 0) process.exitCode = 1;
}

await main();
