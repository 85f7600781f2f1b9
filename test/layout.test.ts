import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

// Dependencies run one way between the top-level folders: service/ → adapters/
// → src/ (the core). The package barrel src/index.ts re-exports the memory
// adapter, so `import { memoryAdapter } from "edgelock"` works; it is the one
// file of src/ allowed to reach into adapters/.
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FOLDERS = ["src", "adapters", "service"] as const;
const RANK: Record<string, number> = { src: 0, adapters: 1, service: 2 };
const BARREL_EXCEPTIONS = new Set(["src/index.ts"]);

function sources(folder: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, folder))) {
    const path = join(folder, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path));
    else if (/\.ts$/.test(name) && !/\.(test|d)\.ts$/.test(name)) out.push(path);
  }
  return out;
}

function importsOf(path: string): string[] {
  const text = readFileSync(join(ROOT, path), "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(
    /^\s*(?:import|export)\s[^;]*?\bfrom\s+["'](\.{1,2}\/[^"']+)["']|\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']/gm,
  )) {
    const specifier = match[1] ?? match[2];
    if (specifier === undefined) continue;
    const target = relative(ROOT, resolve(ROOT, dirname(path), specifier.replace(/\.js$/, ".ts")));
    if (existsSync(join(ROOT, target))) found.push(target);
  }
  return found;
}

const files = FOLDERS.flatMap(sources);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const top = (path: string) => path.split("/")[0] ?? "";

describe("layout", () => {
  test("the scan sees the service, the HTTP client and the core", () => {
    expect(files).toContain("service/app.ts");
    expect(files).toContain("adapters/http/index.ts");
    expect(graph.get("service/app.ts")).toContain("adapters/http/contract.ts");
  });

  test("no import points back up the layers (service → adapters → src)", () => {
    const backEdges = [...graph].flatMap(([from, targets]) =>
      targets
        .filter((to) => (RANK[top(to)] ?? 0) > (RANK[top(from)] ?? 0) && !BARREL_EXCEPTIONS.has(from))
        .map((to) => `${from} → ${to}`),
    );
    expect(backEdges).toEqual([]);
  });

  test("no import cycle in the service or the HTTP client", () => {
    const inScope = (file: string) => file.startsWith("service/") || file.startsWith("adapters/http/");
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, stack: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...stack.slice(stack.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "open");
      for (const next of graph.get(file) ?? []) if (inScope(next)) visit(next, [...stack, file]);
      state.set(file, "done");
    };
    for (const file of files.filter(inScope)) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
