/**
 * Bundle sizes: each public entry bundled by esbuild, minified, then
 * gzipped, once with the peer SDKs left external (what a user who already
 * has them pays) and once with everything inlined (the whole cost).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

export interface BundleSize {
  readonly name: string;
  readonly entry: string;
  /** Bytes, minified / minified+gzip, with peer SDKs external; undefined when the entry is missing. */
  readonly external?: { min: number; gzip: number };
  readonly bundled?: { min: number; gzip: number };
  readonly error?: string;
}

const root = resolve(import.meta.dirname, "..");

/** Packages edgelock declares as peer dependencies, plus runtime built-ins. */
const PEER_SDKS = ["@aws-sdk/*", "@smithy/*", "@upstash/redis", "hono", "hono/*", "@hono/*", "@azure/*"];
const BUILT_INS = ["cloudflare:*", "node:*"];

interface Entry {
  readonly name: string;
  readonly entry: string;
  /** Source of a virtual entry (peers), else `entry` is a file. */
  readonly contents?: string;
  readonly platform?: "browser" | "node";
}

const ENTRIES: readonly Entry[] = [
  { name: "edgelock (core)", entry: "src/index.ts" },
  // What an import pays after tree-shaking: the lock client's methods (semaphores, elections,
  // guarded values) cannot be shaken off, the rest of the core entry can.
  {
    name: "edgelock: createLocker only",
    entry: "src/index.ts",
    contents: 'export { createLocker } from "./src/index.ts";',
  },
  {
    name: "edgelock: createLocker + upstashAdapter",
    entry: "src/index.ts",
    contents:
      'export { createLocker } from "./src/index.ts";\nexport { upstashAdapter } from "./adapters/upstash/index.ts";',
  },
  { name: "edgelock/upstash", entry: "adapters/upstash/index.ts" },
  { name: "edgelock/dynamodb", entry: "adapters/dynamodb/index.ts" },
  { name: "edgelock/azure-blob", entry: "adapters/azure-blob/index.ts" },
  { name: "edgelock/postgres", entry: "adapters/postgres/index.ts" },
  { name: "edgelock/durable-object", entry: "adapters/durable-object/index.ts" },
  { name: "edgelock/etcd", entry: "adapters/etcd/index.ts" },
  { name: "edgelock/http (client)", entry: "adapters/http/index.ts" },
  { name: "edgelock/server (Hono app)", entry: "service/app.ts" },
  {
    name: "@upstash/lock 0.2.1 (peer)",
    entry: "@upstash/lock",
    // It types its client as @upstash/redis's Redis but never imports it: a user needs both.
    contents: 'export { Lock } from "@upstash/lock";\nexport { Redis } from "@upstash/redis";',
  },
  {
    name: "@verrou/core 0.5.2 + DynamoDB store (peer)",
    entry: "@verrou/core",
    contents: 'export { Verrou } from "@verrou/core";\nexport { dynamodbStore } from "@verrou/core/drivers/dynamodb";',
    // It imports `timers/promises`: Node-only as published.
    platform: "node",
  },
];

async function size(entry: Entry, external: readonly string[]): Promise<{ min: number; gzip: number }> {
  const result = await build({
    ...(entry.contents
      ? { stdin: { contents: entry.contents, resolveDir: root, loader: "ts" as const } }
      : { entryPoints: [resolve(root, entry.entry)] }),
    bundle: true,
    minify: true,
    format: "esm",
    platform: entry.platform ?? "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    external: [...external, ...BUILT_INS],
  });
  const code = result.outputFiles.map((file) => file.contents);
  const bytes = Buffer.concat(code);
  return { min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

export async function bundleSizes(): Promise<BundleSize[]> {
  const sizes: BundleSize[] = [];
  for (const entry of ENTRIES) {
    if (!entry.contents && !existsSync(resolve(root, entry.entry))) {
      sizes.push({ name: entry.name, entry: entry.entry, error: "missing" });
      continue;
    }
    try {
      sizes.push({
        name: entry.name,
        entry: entry.entry,
        external: await size(entry, PEER_SDKS),
        bundled: await size(entry, []),
      });
    } catch (error) {
      sizes.push({
        name: entry.name,
        entry: entry.entry,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return sizes;
}
