/**
 * `npm run bench`: starts every local backend the tests use, runs the same
 * scenarios on edgelock's adapters and on peer libraries sharing those
 * backends (each worker on its own instance, and again all on one),
 * semaphores where the adapter has them, the client's cost with telemetry
 * off and on, and prints Markdown tables. `BENCH_QUICK=1` for a short run,
 * `BENCH_ONLY=memory,upstash,client-cost` to pick backends, `BENCH_OUT=file.md`
 * to also write the tables to a file.
 */
import { writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { type Backend, missingFiles, type Started } from "./backends.js";
import { bundleSizes } from "./bundle-size.js";
import { type ClientCostRow, clientCost } from "./client-cost.js";
import { config, selected } from "./config.js";
import type { Contender, LockDriver } from "./driver.js";
import { now } from "./measure.js";
import {
  bundleTable,
  clientCostTable,
  type DriverResult,
  type PeerPair,
  ratioTable,
  resultsTable,
  semaphoreTable,
  sharingTable,
} from "./report.js";
import { ContentionSamples, contentionRound } from "./scenarios/contention.js";
import { ManyKeysSamples, manyKeysRound } from "./scenarios/many-keys.js";
import { SemaphoreSamples, semaphoreRound } from "./scenarios/semaphore.js";
import { UncontendedSamples, uncontendedRound } from "./scenarios/uncontended.js";
import { BACKENDS, CEILING, PEER_PAIRS } from "./targets.js";
import { workerSize } from "./worker-size.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

/** A line of the _Not measured_ list; `failed` ones make the exit code 1. */
interface Problem {
  readonly text: string;
  readonly failed: boolean;
}

interface Running {
  readonly driver: LockDriver;
  /** One instance per worker (the fair runs), built and warmed before their first round. */
  own: Contender[];
  readonly uncontended: UncontendedSamples;
  readonly contention: { readonly own: ContentionSamples; readonly shared: ContentionSamples };
  readonly manyKeys: { readonly own: ManyKeysSamples; readonly shared: ManyKeysSamples };
  semaphore: SemaphoreSamples | undefined;
  failed?: string;
}

const workers = Math.max(config.contenders, config.manyKeysConcurrency);

/**
 * Build and warm one instance per worker: connections, scripts, tables and
 * containers are made once per instance, as a long-running process has
 * them; the requests this costs fall outside every measured round.
 */
async function ownInstances(driver: LockDriver): Promise<Contender[]> {
  const instances = Array.from({ length: workers }, () => driver.contender());
  await Promise.all(
    instances.map(async (instance, i) => {
      await (await instance.tryAcquire(`warm-${i}`, config.ttlMs))?.release();
      // A broken semaphore shows in its own round (which reports it), not here, where it would lose the lock rows.
      if (instance.acquirePermit)
        await instance
          .acquirePermit(`warm-permit-${i}`, config.semaphoreLimit, config.ttlMs, 1_000)
          .then((permit) => permit.release())
          .catch(() => undefined);
    }),
  );
  return instances;
}

/**
 * Run every scenario round by round, alternating the drivers that share a
 * backend (A B, B A, A B…), so that noise from the shared machine and
 * warm-up order weigh on edgelock and its peer alike.
 */
async function runDrivers(drivers: readonly LockDriver[], results: DriverResult[], problems: Problem[]): Promise<void> {
  const running: Running[] = drivers.map((driver) => ({
    driver,
    own: [],
    uncontended: new UncontendedSamples(),
    contention: { own: new ContentionSamples(), shared: new ContentionSamples() },
    manyKeys: { own: new ManyKeysSamples(), shared: new ManyKeysSamples() },
    semaphore: driver.semaphores ? new SemaphoreSamples() : undefined,
  }));
  for (const r of running) {
    if (!r.semaphore && r.driver.name.startsWith("edgelock"))
      problems.push({ text: `${r.driver.name}: semaphores, the adapter declares none`, failed: false });
  }
  const shared = (r: Running) => Array.from({ length: workers }, () => r.driver.shared);
  const phases: ((r: Running, round: number) => Promise<void>)[] = [
    (r, round) => uncontendedRound(r.driver, config, r.uncontended, round === 0 ? config.warmupCycles : 0),
    async (r, round) => {
      if (round === 0) r.own = await ownInstances(r.driver);
      await contentionRound(r.driver, r.own.slice(0, config.contenders), config, r.contention.own, `own-${round}`);
    },
    (r, round) =>
      contentionRound(r.driver, shared(r).slice(0, config.contenders), config, r.contention.shared, `shared-${round}`),
    (r) => manyKeysRound(r.driver, r.own.slice(0, config.manyKeysConcurrency), config, r.manyKeys.own),
    (r) => manyKeysRound(r.driver, shared(r).slice(0, config.manyKeysConcurrency), config, r.manyKeys.shared),
    // A semaphore failure loses the semaphore row only, not the driver's lock rows.
    async (r, round) => {
      if (!r.semaphore) return;
      try {
        await semaphoreRound(r.driver, r.own.slice(0, config.contenders), config, r.semaphore, `permits-${round}`);
      } catch (error) {
        r.semaphore = undefined;
        problems.push({ text: `${r.driver.name}: semaphores FAILED, ${describe(error)}`, failed: true });
        log(`! ${r.driver.name}: semaphores FAILED, ${describe(error)}`);
      }
    },
  ];
  try {
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
            problems.push({ text: `${r.driver.name}: FAILED, ${r.failed}`, failed: true });
            log(`! ${r.driver.name}: FAILED, ${r.failed}`);
          }
        }
      }
    }
  } finally {
    for (const r of running) {
      for (const instance of r.own)
        await instance.close().catch((error: unknown) => log(`! close: ${describe(error)}`));
    }
  }
  for (const r of running) {
    if (r.failed) continue;
    const { name, backend, counting } = r.driver;
    const result: DriverResult = {
      name,
      backend,
      counting,
      uncontended: r.uncontended.result(),
      contention: r.contention.own.result(),
      manyKeys: r.manyKeys.own.result(),
      shared: { contention: r.contention.shared.result(), manyKeys: r.manyKeys.shared.result() },
      semaphore: r.semaphore?.result(),
    };
    results.push(result);
    const permits = result.semaphore ? `, ${result.semaphore.permitsPerSecond.toFixed(1)} permits/s` : "";
    log(
      `  ${name}: acquire p50 ${result.uncontended.acquire.latency.p50.toFixed(2)} ms, ${result.contention.handoffsPerSecond.toFixed(1)} hand-offs/s own (${result.shared.contention.handoffsPerSecond.toFixed(1)} shared)${permits}`,
    );
  }
}

async function runBackend(backend: Backend, results: DriverResult[], problems: Problem[]): Promise<void> {
  const missing = missingFiles(backend);
  if (missing.length > 0) {
    problems.push({ text: `${backend.name}: SKIPPED, missing ${missing.join(", ")}`, failed: true });
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
    problems.push({ text: `${backend.name}: FAILED to start, ${describe(error)}`, failed: true });
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
  const problems: Problem[] = [];
  for (const backend of BACKENDS) {
    if (selected(backend.name)) await runBackend(backend, results, problems);
  }
  let cost: ClientCostRow[] = [];
  if (selected("client-cost")) {
    log("• client cost, telemetry off and on (memory adapter)");
    cost = await clientCost(config.clientCost);
  }
  log("• bundle sizes (esbuild) and Worker upload size (wrangler --dry-run)");
  const [sizes, worker] = [await bundleSizes(), await workerSize()];

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const lines = [
    `edgelock bench, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()} cores (${cpu}), ${config.quick ? "BENCH_QUICK=1 (indicative only)" : "full run"}`,
    `uncontended: ${config.uncontendedCycles} cycles after ${config.warmupCycles} warm-up; contention: ${config.contenders} workers, ${config.handoffs} hand-offs × ${config.rounds} rounds; many keys: ${config.manyKeys} keys, concurrency ${config.manyKeysConcurrency}, ${config.manyKeysCycles} cycles × ${config.rounds} rounds; semaphores: limit ${config.semaphoreLimit}, ${config.contenders} workers, ${config.permits} permits × ${config.rounds} rounds; TTL ${config.ttlMs} ms; round budgets ${config.roundBudgetMs.uncontended} / ${config.roundBudgetMs.contention} / ${config.roundBudgetMs.manyKeys} / ${config.roundBudgetMs.semaphore} ms${config.backoff ? `; edgelock backoff ${config.backoff.baseMs}–${config.backoff.maxMs} ms (BENCH_BACKOFF)` : ""}`,
    "",
    "Every worker on its own adapter or client instance, as separate processes (contention, many keys); the memory row is the in-process ceiling:",
    "",
    resultsTable(results),
    "",
    "Ratios edgelock / peer (latency and requests: lower is better; ↑ columns: higher is better):",
    "",
    ratioTable(results, PEER_PAIRS satisfies readonly PeerPair[]),
    "",
    "Own instance per worker · one instance shared by all workers (the bench's earlier setup), and the share of the in-process ceiling's hand-off rate:",
    "",
    sharingTable(results, CEILING),
    "",
    `Semaphores: permits per second, ${config.contenders} workers on their own instances, limit ${config.semaphoreLimit}, 1–2 ms of work, next to the lock's hand-offs (limit 1) of the same workers:`,
    "",
    semaphoreTable(results, config.semaphoreLimit),
    "",
    ...(cost.length > 0
      ? [
          `Client cost, telemetry off and on: tryAcquire + release on the memory adapter, rounds of ${config.clientCost.roundMs} ms, median of ${config.clientCost.rounds} interleaved rounds per setting:`,
          "",
          clientCostTable(cost),
          "",
        ]
      : []),
    bundleTable(sizes, worker),
    "",
    ...(problems.length > 0 ? ["Not measured:", ...problems.map((p) => `- ${p.text}`), ""] : []),
    `total bench time ${((now() - start) / 1000).toFixed(0)} s`,
  ];
  const output = lines.join("\n");
  process.stdout.write(`${output}\n`);
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, `${output}\n`);
  if (problems.some((p) => p.failed)) process.exitCode = 1;
}

await main();
