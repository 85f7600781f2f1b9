#!/usr/bin/env node
// Bundles the lock service's entry point for a cloud into one ESM file, so a
// deployment uploads no node_modules: `node infra/bundle.mjs aws` before
// `sam deploy`, `node infra/bundle.mjs azure` before publishing the Function
// App. test/infra runs this same script, so what the READMEs tell users to run
// is what the tests check.
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/** @type {Record<string, {entry: string, outfile: string, external: string[]}>} */
export const TARGETS = {
  // CodeUri of infra/aws/template.yaml; Handler `index.handler`.
  aws: { entry: "service/platforms/lambda.ts", outfile: "infra/aws/.build/lambda/index.mjs", external: [] },
  // `main` of infra/azure/function/package.json. The Functions host provides
  // `@azure/functions-core` to the worker; it is not an npm package.
  azure: {
    entry: "service/platforms/azure-functions.ts",
    outfile: "infra/azure/function/dist/index.mjs",
    external: ["@azure/functions-core"],
  },
};

/**
 * Build one target. `outfile` may be overridden (tests build into a temp dir).
 * @param {string} name
 * @param {{outfile?: string}} [options]
 */
export async function bundle(name, options = {}) {
  const target = TARGETS[name];
  if (!target) throw new Error(`unknown target "${name}"; one of: ${Object.keys(TARGETS).join(", ")}`);
  const outfile = options.outfile ?? `${root}${target.outfile}`;
  const result = await build({
    absWorkingDir: root,
    entryPoints: [target.entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    // ES builds of dependencies first: their CommonJS builds `require` Node
    // built-ins, which an ESM bundle can only do through createRequire.
    mainFields: ["module", "main"],
    banner: {
      js: "import { createRequire as __edgelockCreateRequire } from 'node:module';\nconst require = __edgelockCreateRequire(import.meta.url);",
    },
    external: target.external,
    minify: true,
    sourcemap: true,
    legalComments: "external",
    metafile: true,
    logLevel: "warning",
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  return { outfile, bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const names = process.argv.slice(2);
  if (names.length === 0) {
    console.error(`usage: node infra/bundle.mjs <${Object.keys(TARGETS).join("|")}>...`);
    process.exit(2);
  }
  for (const name of names) {
    const { outfile, bytes } = await bundle(name);
    console.log(`${name}: ${outfile} (${Math.round(bytes / 1024)} KiB with source map)`);
  }
}
