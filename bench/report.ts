/**
 * Turns results into Markdown tables (printed, and pasted into
 * docs/bench.md as they are).
 */
import type { BundleSize } from "./bundle-size.js";
import type { ClientCostRow } from "./client-cost.js";
import type { LockDriver } from "./driver.js";
import type { ContentionResult } from "./scenarios/contention.js";
import type { ManyKeysResult } from "./scenarios/many-keys.js";
import type { SemaphoreResult } from "./scenarios/semaphore.js";
import type { UncontendedResult } from "./scenarios/uncontended.js";
import type { WorkerSize } from "./worker-size.js";

export interface DriverResult {
  readonly name: string;
  readonly backend: string;
  readonly counting: LockDriver["counting"];
  readonly uncontended: UncontendedResult;
  /** Every worker on its own instance (the fair run). */
  readonly contention: ContentionResult;
  readonly manyKeys: ManyKeysResult;
  /** All workers on one instance. */
  readonly shared: { readonly contention: ContentionResult; readonly manyKeys: ManyKeysResult };
  /** Own instances; absent where the library has no semaphores. */
  readonly semaphore?: SemaphoreResult | undefined;
}

/** edgelock row name → peer row name, compared on the same backend. */
export interface PeerPair {
  readonly edgelock: string;
  readonly peer: string;
}

const ms = (value: number) => (Number.isFinite(value) ? (value < 10 ? value.toFixed(2) : value.toFixed(1)) : "–");
const count = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));
const rate = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "–");
const oneLine = (text: string) => text.replace(/\s+/g, " ").replace(/\|/g, "\\|").slice(0, 200);
const kb = (bytes: number) => (bytes / 1024).toFixed(1);

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`);
  return lines.join("\n");
}

const COUNTED = {
  fetch: "HTTP requests",
  rpc: "adapter calls (RPC)",
  "in-process": "adapter calls (in-process)",
} as const;

export function resultsTable(results: readonly DriverResult[]): string {
  return table(
    [
      "library · backend",
      "counted",
      "acquire req",
      "acquire p50 / p99 ms",
      "extend req",
      "extend p50 / p99 ms",
      "release req",
      "release p50 / p99 ms",
      "contended hand-offs/s",
      "contended req / acquisition",
      "contended wait p50 / p99 ms",
      "many keys cycles/s",
      "many keys req / cycle",
      "samples (cycles / acquisitions / cycles)",
    ],
    results.map((r) => {
      const u = r.uncontended;
      return [
        `${r.name} · ${r.backend}`,
        COUNTED[r.counting],
        count(u.acquire.requests),
        `${ms(u.acquire.latency.p50)} / ${ms(u.acquire.latency.p99)}`,
        count(u.extend.requests),
        `${ms(u.extend.latency.p50)} / ${ms(u.extend.latency.p99)}`,
        count(u.release.requests),
        `${ms(u.release.latency.p50)} / ${ms(u.release.latency.p99)}`,
        rate(r.contention.handoffsPerSecond),
        count(Number(r.contention.requestsPerAcquisition.toFixed(2))),
        `${ms(r.contention.waitP50)} / ${ms(r.contention.waitP99)}`,
        rate(r.manyKeys.cyclesPerSecond),
        count(Number(r.manyKeys.requestsPerCycle.toFixed(2))),
        `${u.acquire.latency.n} / ${r.contention.acquisitions} / ${r.manyKeys.cycles}`,
      ];
    }),
  );
}

export function ratioTable(results: readonly DriverResult[], pairs: readonly PeerPair[]): string {
  const rows: string[][] = [];
  for (const pair of pairs) {
    const a = results.find((r) => r.name === pair.edgelock);
    const b = results.find((r) => r.name === pair.peer);
    if (!a || !b) continue;
    const u = (r: DriverResult) => r.uncontended;
    rows.push([
      `${pair.edgelock} / ${pair.peer}`,
      ratio(u(a).acquire.latency.p50, u(b).acquire.latency.p50),
      ratio(u(a).extend.latency.p50, u(b).extend.latency.p50),
      ratio(u(a).release.latency.p50, u(b).release.latency.p50),
      ratio(u(a).acquire.requests + u(a).release.requests, u(b).acquire.requests + u(b).release.requests),
      ratio(a.contention.handoffsPerSecond, b.contention.handoffsPerSecond),
      ratio(a.contention.requestsPerAcquisition, b.contention.requestsPerAcquisition),
      ratio(a.contention.waitP99, b.contention.waitP99),
      ratio(a.manyKeys.cyclesPerSecond, b.manyKeys.cyclesPerSecond),
      ratio(a.shared.contention.handoffsPerSecond, b.shared.contention.handoffsPerSecond),
      ratio(a.shared.manyKeys.cyclesPerSecond, b.shared.manyKeys.cyclesPerSecond),
    ]);
  }
  return table(
    [
      "edgelock / peer (same backend)",
      "acquire p50",
      "extend p50",
      "release p50",
      "req per acquire+release",
      "hand-offs/s ↑",
      "contended req / acq",
      "wait p99",
      "many keys cycles/s ↑",
      "shared instance: hand-offs/s ↑",
      "shared instance: many keys cycles/s ↑",
    ],
    rows,
  );
}

const pair = (own: string, shared: string) => `${own} · ${shared}`;

/** The fair run (own instance per worker) next to the shared-instance run, and each row against the in-process ceiling. */
export function sharingTable(results: readonly DriverResult[], ceiling: string): string {
  const top = results.find((r) => r.name === ceiling)?.contention.handoffsPerSecond ?? Number.NaN;
  return table(
    [
      "library · backend",
      "hand-offs/s own · shared",
      "of the in-process ceiling (own)",
      "req / acquisition own · shared",
      "wait p99 ms own · shared",
      "many keys cycles/s own · shared",
      "many keys req / cycle own · shared",
    ],
    results.map((r) => {
      const [own, shared] = [r, r.shared];
      const fraction = own.contention.handoffsPerSecond / top;
      return [
        `${r.name} · ${r.backend}`,
        pair(rate(own.contention.handoffsPerSecond), rate(shared.contention.handoffsPerSecond)),
        Number.isFinite(fraction) ? `${(fraction * 100).toFixed(0)} %` : "–",
        pair(own.contention.requestsPerAcquisition.toFixed(2), shared.contention.requestsPerAcquisition.toFixed(2)),
        pair(ms(own.contention.waitP99), ms(shared.contention.waitP99)),
        pair(rate(own.manyKeys.cyclesPerSecond), rate(shared.manyKeys.cyclesPerSecond)),
        pair(own.manyKeys.requestsPerCycle.toFixed(2), shared.manyKeys.requestsPerCycle.toFixed(2)),
      ];
    }),
  );
}

/** Semaphore permits per second next to the lock's hand-offs on the same backend, same workers. */
export function semaphoreTable(results: readonly DriverResult[], limit: number): string {
  const rows: string[][] = [];
  for (const r of results) {
    const s = r.semaphore;
    if (!s) continue;
    rows.push([
      `${r.name} · ${r.backend}`,
      rate(r.contention.handoffsPerSecond),
      r.contention.requestsPerAcquisition.toFixed(2),
      rate(s.permitsPerSecond),
      s.requestsPerPermit.toFixed(2),
      `${ms(s.waitP50)} / ${ms(s.waitP99)}`,
      ratio(s.permitsPerSecond, r.contention.handoffsPerSecond),
      `${r.contention.acquisitions} / ${s.permits}`,
    ]);
  }
  return table(
    [
      "library · backend",
      "lock hand-offs/s",
      "lock req / acquisition",
      `permits/s (limit ${limit})`,
      "req / permit",
      "permit wait p50 / p99 ms",
      "permits ÷ hand-offs",
      "samples (acquisitions / permits)",
    ],
    rows,
  );
}

/** The lock client's CPU cost per telemetry setting (memory adapter, no I/O). */
export function clientCostTable(rows: readonly ClientCostRow[]): string {
  const off = rows[0]?.median ?? Number.NaN;
  return table(
    ["telemetry", "cycles/s (median round)", "µs / cycle", "range of rounds, cycles/s", "vs off"],
    rows.map((row) => [
      row.mode,
      row.median.toFixed(0),
      (1e6 / row.median).toFixed(2),
      `${row.min.toFixed(0)}–${row.max.toFixed(0)}`,
      ratio(row.median, off),
    ]),
  );
}

export function bundleTable(sizes: readonly BundleSize[], worker: WorkerSize): string {
  const rows = sizes.map((s) =>
    s.external && s.bundled
      ? [s.name, kb(s.external.min), kb(s.external.gzip), kb(s.bundled.min), kb(s.bundled.gzip)]
      : [s.name, `**${oneLine(s.error ?? "missing")}**`, "", "", ""],
  );
  rows.push(
    worker.gzipKiB !== undefined && worker.totalKiB !== undefined
      ? ["Worker upload (`wrangler deploy --dry-run`)", "", "", worker.totalKiB.toFixed(2), worker.gzipKiB.toFixed(2)]
      : ["Worker upload (`wrangler deploy --dry-run`)", `**${oneLine(worker.error ?? "missing")}**`, "", "", ""],
  );
  return table(["entry", "min KiB (peer SDKs external)", "gzip KiB", "min KiB (all bundled)", "gzip KiB"], rows);
}
