/**
 * The lock client's own CPU cost, telemetry off and on: tryAcquire + release
 * cycles on the memory adapter (no I/O), with the locker's defaults
 * (per-request timeouts, cancellation, lease signals). Modes run in
 * interleaved rounds (the first mode of each round rotates) and each
 * reports its median round, so a load spike on the shared machine weighs on
 * all of them alike.
 *
 * Part of `npm run bench` (its "client cost" table); alone:
 * `npx tsx bench/client-cost.ts` (`ROUND_MS=150 ROUNDS=21`).
 */
import { pathToFileURL } from "node:url";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { createLocker, type LockerOptions, memoryAdapter } from "../src/index.js";
import { openTelemetry } from "../src/telemetry/otel.js";
import { median } from "./measure.js";

export interface ClientCostRow {
  readonly mode: string;
  /** Median round, cycles per second. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

interface Mode {
  readonly name: string;
  readonly onEvent: LockerOptions["onEvent"];
  /** After each round: drop what the round recorded, so memory does not grow. */
  readonly reset?: () => void;
}

/** The OpenTelemetry SDK as a service would run it, exporting to memory (spans dropped after each round). */
function otelSdk(): { mode: Mode; shutdown: () => Promise<void> } {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    mode: {
      name: "`openTelemetry()` with the SDK (in-memory exporters)",
      onEvent: openTelemetry({ tracerProvider, meterProvider }),
      reset: () => spans.reset(),
    },
    shutdown: async () => {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** Cycles for `ms` (time-boxed, so a loaded machine does not stretch the run), as cycles per second. */
async function round(mode: Mode, ms: number): Promise<number> {
  const locker = createLocker({ adapter: memoryAdapter(), ...(mode.onEvent ? { onEvent: mode.onEvent } : {}) });
  const started = performance.now();
  const until = started + ms;
  let cycles = 0;
  let elapsed = 0;
  do {
    const lease = await locker.tryAcquire("key", { ttlMs: 30_000 });
    if (!lease) throw new Error("client cost: expected a grant");
    await lease.release();
    cycles++;
    elapsed = performance.now();
  } while (elapsed < until);
  const rate = cycles / ((elapsed - started) / 1000);
  mode.reset?.();
  return rate;
}

/** Every mode's cycles per second: one warm-up round each, then `rounds` interleaved rounds. */
export async function clientCost(options: { roundMs: number; rounds: number }): Promise<ClientCostRow[]> {
  const sdk = otelSdk();
  const modes: Mode[] = [
    { name: "off (no `onEvent`)", onEvent: undefined },
    { name: "no-op `onEvent` listener", onEvent: () => undefined },
    { name: "`openTelemetry()`, API only (no SDK registered)", onEvent: openTelemetry() },
    sdk.mode,
  ];
  try {
    const rates = modes.map((): number[] => []);
    for (const mode of modes) await round(mode, options.roundMs);
    for (let r = 0; r < options.rounds; r++) {
      for (let i = 0; i < modes.length; i++) {
        const m = (r + i) % modes.length;
        rates[m]?.push(await round(modes[m] as Mode, options.roundMs));
      }
    }
    return modes.map((mode, m) => {
      const own = rates[m] ?? [];
      return { mode: mode.name, median: median(own), min: Math.min(...own), max: Math.max(...own) };
    });
  } finally {
    await sdk.shutdown();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await clientCost({
    roundMs: Number(process.env.ROUND_MS ?? 150),
    rounds: Number(process.env.ROUNDS ?? 21),
  });
  for (const row of rows) {
    console.log(
      `${row.mode}: median ${Math.round(row.median).toLocaleString("en")} cycles/s (${(1e6 / row.median).toFixed(2)} µs/cycle), range ${Math.round(row.min)}–${Math.round(row.max)}`,
    );
  }
}
