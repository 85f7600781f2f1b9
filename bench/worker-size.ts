/**
 * The Worker's upload size as Cloudflare would count it: `wrangler deploy
 * --dry-run` bundles the root `wrangler.toml` Worker offline and prints
 * "Total Upload: X KiB / gzip: Y KiB".
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

export interface WorkerSize {
  readonly totalKiB?: number;
  readonly gzipKiB?: number;
  readonly error?: string;
}

const root = resolve(import.meta.dirname, "..");

export async function workerSize(): Promise<WorkerSize> {
  if (!existsSync(join(root, "wrangler.toml"))) return { error: "missing: no wrangler.toml at the repository root" };
  const outdir = mkdtempSync(join(tmpdir(), "edgelock-bench-worker-"));
  try {
    const { stdout, stderr } = await promisify(execFile)(
      join(root, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", outdir],
      { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" }, timeout: 120_000 },
    );
    const match = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(stdout + stderr);
    if (!match) return { error: `no "Total Upload" line in wrangler's output: ${(stdout + stderr).slice(-300)}` };
    return { totalKiB: Number(match[1]), gzipKiB: Number(match[2]) };
  } catch (error) {
    const detail = error as { stderr?: string; message?: string };
    return {
      error: `wrangler deploy --dry-run failed: ${(detail.stderr ?? detail.message ?? String(error)).slice(-400)}`,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
