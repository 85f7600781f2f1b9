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
import { contention } from "./scenarios/contention.js";
import { manyKeys } from "./scenarios/many-keys.js";
import { uncontended } from "./scenarios/uncontended.js";
import { BACKENDS, PEER_PAIRS } from "./targets.js";
import { workerSize } from "./worker-size.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

async function runDriver(driver: LockDriver): Promise<DriverResult> {
  const body = async (): Promise<DriverResult> => {
    const started = now();
    const u = await uncontended(driver, config);
    const c = await contention(driver, config);
    const m = await manyKeys(driver, config);
    log(`  ${driver.name}: done in ${((now() - started) / 1000).toFixed(1)} s`);
    return {
      name: driver.name,
      backend: driver.backend,
      counting: driver.counting,
      uncontended: u,
      contention: c,
      manyKeys: m,
    };
  };
  return driver.scope ? driver.scope(body) : body();
}

async function runBackend(backend: Backend, results: DriverResult[], problems: string[]): Promise<void> {
  const missing = missingFiles(backend);
  if (missing.length > 0) {
    problems.push(`${backend.name}: SKIPPED, missing ${missing.join(", ")}`);
    log(`! ${backend.name}: SKIPPED, missing ${missing.join(", ")}`);
    return;
  }
  log(`• ${backend.name}: starting`);
  let started: Started | undefined;
  try {
    started = await backend.start();
    for (const driver of started.drivers) {
      try {
        results.push(await runDriver(driver));
      } catch (error) {
        problems.push(`${driver.name}: FAILED, ${describe(error)}`);
        log(`! ${driver.name}: FAILED, ${describe(error)}`);
      } finally {
        await driver.close();
      }
    }
  } catch (error) {
    problems.push(`${backend.name}: FAILED to start, ${describe(error)}`);
    log(`! ${backend.name}: FAILED to start, ${describe(error)}`);
  } finally {
    await started?.stop();
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
    `uncontended: ${config.uncontendedCycles} cycles after ${config.warmupCycles} warm-up; contention: ${config.contenders} workers, ${config.handoffs} hand-offs × ${config.rounds} rounds; many keys: ${config.manyKeys} keys, concurrency ${config.manyKeysConcurrency}, ${config.manyKeysCycles} cycles × ${config.rounds} rounds; TTL ${config.ttlMs} ms`,
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
