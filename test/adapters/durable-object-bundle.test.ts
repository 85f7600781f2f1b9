import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, test } from "vitest";

/**
 * Budget for the whole Worker upload (gzip, minified as wrangler.toml says):
 * issue 14's target. 22.8 KiB when it was set; raise it deliberately, not by accident.
 */
const GZIP_BUDGET_KIB = 25;
const root = fileURLToPath(new URL("../..", import.meta.url));

test(`wrangler deploy --dry-run builds the Worker from wrangler.toml under ${GZIP_BUDGET_KIB} KiB gzip`, async () => {
  const outdir = await mkdtemp(join(tmpdir(), "edgelock-worker-"));
  try {
    const { stdout, stderr } = await promisify(execFile)(
      join(root, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", outdir],
      { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "1" } },
    );
    const output = `${stdout}\n${stderr}`;
    const size = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
    if (!size) throw new Error(`no upload size in wrangler's output:\n${output}`);
    const gzipKiB = Number(size[2]);
    console.info(`edgelock Worker: upload ${size[1]} KiB, gzip ${gzipKiB} KiB (budget ${GZIP_BUDGET_KIB} KiB)`);
    expect(gzipKiB).toBeGreaterThan(0);
    expect(gzipKiB).toBeLessThan(GZIP_BUDGET_KIB);
    expect(output).toMatch(/env\.LOCKS \(LockDurableObject\)\s+Durable Object/);
    const bundle = await readFile(join(outdir, "worker.js"), "utf8");
    expect(bundle).toMatch(/export\s*\{[^}]*\bLockDurableObject\b/);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}, 60_000);
