import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { build, type Plugin } from "esbuild";
import { describe, expect, test } from "vitest";

// The library runs on Workers, Lambda, Azure Functions, Node, Deno and Bun:
// every public entry must bundle for a neutral platform, reaching nothing
// Node-only, with only its peer SDKs (and workerd's own module) left out.
// The exceptions are the platform entries of Node runtimes, which read
// `process.env` (Lambda, Azure Functions) or serve with node:http (Node):
// they must still bundle for Node.
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const NODE_PLATFORM_ENTRIES = ["./server/node", "./server/lambda", "./server/azure-functions"];
const exported = Object.entries(pkg.exports as Record<string, { default?: string }>)
  .filter(([, target]) => typeof target === "object" && target.default)
  .map(([path, target]) => [path, (target.default as string).replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts")]);
const entries = exported.filter(([path]) => !NODE_PLATFORM_ENTRIES.includes(path as string));
const nodeEntries = exported.filter(([path]) => NODE_PLATFORM_ENTRIES.includes(path as string));

const peers = Object.keys(pkg.peerDependencies as Record<string, string>);
const external = [...peers, ...peers.map((name) => `${name}/*`), "cloudflare:workers"];
const nodeOnly = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/** Fails the build on any import of a Node built-in, naming the importer. */
const refuseNodeBuiltins: Plugin = {
  name: "refuse-node-builtins",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      nodeOnly.has(args.path) || args.path.startsWith("node:")
        ? { errors: [{ text: `${args.importer} imports the Node built-in "${args.path}"` }] }
        : undefined,
    );
  },
};

describe("runtime-agnostic entries", () => {
  test.each(entries)("%s (%s) bundles for a neutral platform without Node built-ins", async (_path, source) => {
    const result = await build({
      entryPoints: [new URL(`../${source}`, import.meta.url).pathname],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      external,
      plugins: [refuseNodeBuiltins],
      logLevel: "silent",
    });
    const code = result.outputFiles[0]?.text ?? "";
    expect(code.length).toBeGreaterThan(0);
    // Node-only globals would throw on Workers and in browsers-like runtimes.
    expect(code).not.toMatch(/\b(process\.(env|nextTick|versions)|Buffer\.from|__dirname|require\()/);
  });

  test("the Worker entry is checked as neutral, and every Node platform entry is exported", () => {
    expect(entries.map(([path]) => path)).toContain("./server/worker");
    expect(nodeEntries.map(([path]) => path).sort()).toEqual([...NODE_PLATFORM_ENTRIES].sort());
  });

  test.each(nodeEntries)("%s (%s) bundles for Node, its peers left out", async (_path, source) => {
    const result = await build({
      entryPoints: [new URL(`../${source}`, import.meta.url).pathname],
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      external,
      logLevel: "silent",
    });
    expect(result.outputFiles[0]?.text.length ?? 0).toBeGreaterThan(0);
  });

  test("the check itself catches a Node import", async () => {
    const attempt = build({
      stdin: { contents: 'import { readFileSync } from "node:fs"; export const x = readFileSync;', loader: "ts" },
      bundle: true,
      write: false,
      platform: "neutral",
      plugins: [refuseNodeBuiltins],
      logLevel: "silent",
    });
    await expect(attempt).rejects.toThrow(/Node built-in "node:fs"/);
  });
});
