import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

// The packed tarball, installed into fresh consumer projects, type-checks an
// import of every exported subpath under each module resolution a user may
// have, with the settings README documents ("TypeScript settings").
const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
const allSubpaths = Object.keys(pkg.exports as Record<string, unknown>)
  .filter((path) => path !== "./package.json")
  .map((path) => (path === "." ? "edgelock" : `edgelock/${path.slice(2)}`));
// The Durable Object class extends `cloudflare:workers`' base class, so only a
// project that loads @cloudflare/workers-types imports it and the Worker entry
// that re-exports it (the Worker case below).
const workersOnly = ["edgelock/durable-object/object", "edgelock/server/worker"];
const subpaths = allSubpaths.filter((path) => !workersOnly.includes(path));
// Peers resolved from this repository's node_modules, so the install needs no network.
const peers = [
  "hono",
  "@hono/node-server",
  "@azure/functions",
  "@aws-sdk/client-dynamodb",
  "@smithy/fetch-http-handler",
  "@upstash/redis",
  "@neondatabase/serverless",
  "@opentelemetry/api",
  "@cloudflare/workers-types",
  "@types/node",
  "@types/aws-lambda",
];

let root = "";
let tarball = "";

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "edgelock-consumers-"));
  const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", root], { cwd: repo, encoding: "utf8" })
    .trim()
    .split("\n")
    .at(-1);
  tarball = join(root, name ?? "");
}, 300_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function consumer(name: string, type: "module" | "commonjs", compilerOptions: Record<string, unknown>): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--no-save", tarball], { cwd: dir });
  for (const peer of peers) {
    const target = join(dir, "node_modules", peer);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(repo, "node_modules", peer), target, "dir");
  }
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "es2022", strict: true, noEmit: true, skipLibCheck: false, ...compilerOptions },
    }),
  );
  return dir;
}

function typeCheck(dir: string): string {
  try {
    return execFileSync(process.execPath, [tsc, "-p", "."], { cwd: dir, encoding: "utf8" });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return `FAILED\n${stdout ?? ""}${stderr ?? ""}`;
  }
}

// Every subpath as a namespace import, plus the documented `await using`.
function esmSource(): string {
  const imports = subpaths.map((path, i) => `import * as m${i} from "${path}";`).join("\n");
  return `${imports}
import { memoryAdapter, createLocker, type Lease } from "edgelock";
export const all = [${subpaths.map((_, i) => `m${i}`).join(", ")}];
export async function run(): Promise<number> {
  const locker = createLocker({ adapter: memoryAdapter() });
  await using lease = await locker.acquire("k", { ttlMs: 1000 });
  const held: Lease = lease;
  return held.fence > 0 ? 1 : 0;
}
`;
}

function cjsSource(): string {
  return `${subpaths.map((path, i) => `import m${i} = require("${path}");`).join("\n")}
export const all = [${subpaths.map((_, i) => `m${i}`).join(", ")}];
export const locker = m0.createLocker({ adapter: m0.memoryAdapter() });
`;
}

// Each case runs tsc on a consumer project: seconds when idle, minutes on a machine whose cores are all busy.
// The limit bounds nothing the package promises; it only stops a hung compiler.
const CONSUMER_TIMEOUT_MS = 300_000;

const nodeLib = { lib: ["es2022", "esnext.disposable", "dom"], types: ["node"] };

describe("the packed tarball type-checks in a fresh consumer", () => {
  test(
    "node10 (module commonjs), through typesVersions",
    () => {
      const dir = consumer("node10", "commonjs", { module: "commonjs", moduleResolution: "node10", ...nodeLib });
      writeFileSync(join(dir, "index.ts"), esmSource());
      expect(typeCheck(dir)).toBe("");
    },
    CONSUMER_TIMEOUT_MS,
  );

  test(
    "node16, ESM",
    () => {
      const dir = consumer("node16-esm", "module", { module: "node16", moduleResolution: "node16", ...nodeLib });
      writeFileSync(join(dir, "index.ts"), esmSource());
      expect(typeCheck(dir)).toBe("");
    },
    CONSUMER_TIMEOUT_MS,
  );

  test(
    "node20 (TypeScript's model of Node 20.19+), a CommonJS .cts file requiring every subpath",
    () => {
      const dir = consumer("node20-cjs", "commonjs", { module: "node20", moduleResolution: "node16", ...nodeLib });
      writeFileSync(join(dir, "index.cts"), cjsSource());
      expect(typeCheck(dir)).toBe("");
    },
    CONSUMER_TIMEOUT_MS,
  );

  test(
    "nodenext, ESM and a .cts file side by side",
    () => {
      const dir = consumer("nodenext", "module", { module: "nodenext", moduleResolution: "nodenext", ...nodeLib });
      writeFileSync(join(dir, "index.ts"), esmSource());
      writeFileSync(join(dir, "legacy.cts"), cjsSource());
      expect(typeCheck(dir)).toBe("");
    },
    CONSUMER_TIMEOUT_MS,
  );

  test(
    "bundler",
    () => {
      const dir = consumer("bundler", "module", { module: "preserve", moduleResolution: "bundler", ...nodeLib });
      writeFileSync(join(dir, "index.ts"), esmSource());
      expect(typeCheck(dir)).toBe("");
    },
    CONSUMER_TIMEOUT_MS,
  );

  test(
    "a Worker with lib es2021 plus esnext.disposable and workers-types, skipLibCheck false",
    () => {
      const dir = consumer("worker", "module", {
        module: "esnext",
        moduleResolution: "bundler",
        lib: ["es2021", "esnext.disposable"],
        types: ["@cloudflare/workers-types"],
      });
      const paths = ["edgelock", "edgelock/durable-object", "edgelock/http", ...workersOnly];
      writeFileSync(
        join(dir, "index.ts"),
        `${paths.map((path, i) => `import * as m${i} from "${path}";`).join("\n")}
import { createLocker, memoryAdapter } from "edgelock";
export const all = [${paths.map((_, i) => `m${i}`).join(", ")}];
export async function run(): Promise<void> {
  await using lease = await createLocker({ adapter: memoryAdapter() }).acquire("k", { ttlMs: 1000 });
  void lease;
}
`,
      );
      expect(typeCheck(dir)).toBe("");
    },
    CONSUMER_TIMEOUT_MS,
  );

  test(
    "arethetypeswrong finds nothing but the ESM-only note, and publint is clean",
    () => {
      // cjs-resolves-to-esm is what an ESM-only package is: node16 CommonJS can
      // only import() it, node20/nodenext and Node >= 20.19 require() it.
      const bin = join(repo, "node_modules", ".bin");
      const attw = execFileSync(
        join(bin, "attw"),
        [tarball, "--ignore-rules", "cjs-resolves-to-esm", "--format", "json"],
        {
          cwd: root,
          encoding: "utf8",
        },
      );
      // The JSON lists ignored problems too; the command exits non-zero on any other.
      const problems = (JSON.parse(attw).analysis.problems as { kind: string }[]).map((problem) => problem.kind);
      expect(problems.filter((kind) => kind !== "CJSResolvesToESM")).toEqual([]);
      const publint = execFileSync(join(bin, "publint"), ["run", tarball, "--strict"], { cwd: root, encoding: "utf8" });
      expect(publint).toMatch(/All good/);
    },
    CONSUMER_TIMEOUT_MS,
  );

  test("every exported subpath is covered", () => {
    expect([...subpaths, ...workersOnly].sort()).toEqual([...allSubpaths].sort());
  });

  test("the Node floor stated in engines is the one where require() of ES modules works", () => {
    expect(pkg.engines.node).toBe(">=20.19");
  });
});
