/**
 * Latency of the Azure Blob adapter against a local Azurite, per operation,
 * uncontended, warm (after the blob exists). Not a test: run it by hand.
 *
 *   npx tsx bench/latency/azure-blob.ts [iterations]
 */
import { azureBlobAdapter } from "../../adapters/azure-blob/index.js";
import { newToken } from "../../src/index.js";
import { startAzurite } from "../../test/support/azurite.js";

const iterations = Number(process.argv[2] ?? 200);
const azurite = await startAzurite();
try {
  let requests = 0;
  const adapter = azureBlobAdapter({
    connectionString: azurite.connectionString,
    createContainer: true,
    fetch: (input, init) => {
      requests++;
      return fetch(input, init);
    },
  });
  const samples = { acquire: [] as number[], extend: [] as number[], inspect: [] as number[], release: [] as number[] };
  const counts = { acquire: 0, extend: 0, inspect: 0, release: 0 };
  const time = async (op: keyof typeof samples, run: () => Promise<unknown>) => {
    const before = requests;
    const started = performance.now();
    await run();
    samples[op].push(performance.now() - started);
    counts[op] += requests - before;
  };
  const key = "latency";
  const warm = newToken();
  await adapter.acquire({ key, token: warm, ttlMs: 15_000 });
  await adapter.release({ key, token: warm });
  for (let i = 0; i < iterations; i++) {
    const token = newToken();
    await time("acquire", () => adapter.acquire({ key, token, ttlMs: 15_000 }));
    await time("extend", () => adapter.extend({ key, token, ttlMs: 15_000 }));
    await time("inspect", () => adapter.inspect(key));
    await time("release", () => adapter.release({ key, token }));
  }
  const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  console.log(`azure-blob on Azurite, ${iterations} iterations, Node ${process.version}`);
  for (const [op, values] of Object.entries(samples)) {
    const sorted = [...values].sort((a, b) => a - b);
    const perOp = counts[op as keyof typeof counts] / iterations;
    console.log(
      `${op.padEnd(8)} requests ${perOp.toFixed(2)}  p50 ${pct(sorted, 0.5).toFixed(2)} ms  p95 ${pct(sorted, 0.95).toFixed(2)} ms`,
    );
  }
} finally {
  await azurite.stop();
}
