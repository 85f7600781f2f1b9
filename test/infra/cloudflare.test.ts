import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { DURABLE_OBJECT_BINDING, DURABLE_OBJECT_CLASS } from "../../adapters/durable-object/index.js";
import { EDGELOCK_API_TOKENS } from "../../service/env.js";
import { envNamesReadBy, KNOWN_ENV_NAMES, ROOT, readSource } from "./support/source.js";

// The root wrangler.toml is the Cloudflare template; read it the way wrangler does.
const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml") });
interface Migration {
  readonly tag: string;
  readonly new_classes?: string[];
  readonly new_sqlite_classes?: string[];
  readonly deleted_classes?: string[];
  readonly renamed_classes?: Array<{ from: string; to: string }>;
}
const migrations = config.migrations as Migration[];
const main = config.main === undefined ? undefined : relative(ROOT, config.main);

describe("wrangler.toml (Cloudflare: Worker + lock Durable Object)", () => {
  it("binds the lock Durable Object under the name the adapter and the service use", () => {
    expect(config.durable_objects.bindings).toEqual([
      expect.objectContaining({ name: DURABLE_OBJECT_BINDING, class_name: DURABLE_OBJECT_CLASS }),
    ]);
    // A binding with script_name would point at another Worker's class.
    expect(config.durable_objects.bindings[0]).not.toHaveProperty("script_name");
  });

  it("creates the class SQLite-backed, and no migration ever deletes, renames or KV-backs it", () => {
    const sqlite = migrations.flatMap((migration) => migration.new_sqlite_classes ?? []);
    expect(sqlite).toContain(DURABLE_OBJECT_CLASS);
    for (const migration of migrations) {
      expect(migration.new_classes ?? []).not.toContain(DURABLE_OBJECT_CLASS);
      expect(migration.deleted_classes ?? []).not.toContain(DURABLE_OBJECT_CLASS);
      expect((migration.renamed_classes ?? []).map((rename) => rename.from)).not.toContain(DURABLE_OBJECT_CLASS);
    }
    const tags = migrations.map((migration) => migration.tag);
    expect(new Set(tags).size).toBe(tags.length);
  });

  it("has a main entry that exports the class", () => {
    expect(main).toBe("service/platforms/worker.ts");
    const source = readSource(main ?? "");
    const exported = new RegExp(
      `export\\s*(\\{[^}]*\\b${DURABLE_OBJECT_CLASS}\\b[^}]*\\}|class\\s+${DURABLE_OBJECT_CLASS}\\b)`,
    );
    expect(source).toMatch(exported);
  });

  it("keeps the API tokens out of [vars]: they are a secret (wrangler secret put)", () => {
    expect(Object.keys(config.vars)).not.toContain(EDGELOCK_API_TOKENS);
    for (const name of Object.keys(config.vars)) expect(KNOWN_ENV_NAMES).toContain(name);
  });

  it("has a Worker entry that reads the API-token secret", () => {
    expect(main).toBeDefined();
    expect(envNamesReadBy(main ?? "")).toContain(EDGELOCK_API_TOKENS);
  });

  describe("wrangler deploy --dry-run (offline)", () => {
    let outdir = "";
    let output = "";

    beforeAll(async () => {
      outdir = await mkdtemp(join(tmpdir(), "edgelock-infra-wrangler-"));
      const { stdout, stderr } = await promisify(execFile)(
        join(ROOT, "node_modules/.bin/wrangler"),
        ["deploy", "--dry-run", "--outdir", outdir],
        { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, timeout: 60_000 },
      );
      output = stdout + stderr;
    }, 90_000);

    afterAll(async () => {
      if (outdir) await rm(outdir, { recursive: true, force: true });
    });

    it("bundles the Worker and lists the Durable Object binding", async () => {
      expect(output).toMatch(/Total Upload: [\d.]+ KiB \/ gzip: [\d.]+ KiB/);
      expect(output).toContain(DURABLE_OBJECT_BINDING);
      expect(output).toContain(DURABLE_OBJECT_CLASS);
      expect((await readdir(outdir)).some((file) => file.endsWith(".js"))).toBe(true);
    });
  });
});
