import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ENV } from "../../../service/env.js";

/** Repository root. */
export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export const readSource = (path: string): string => readFileSync(join(ROOT, path), "utf8");

const ENV_FILE = "service/env.ts";

/**
 * `entry` and every file under `service/` and `src/` it reaches through relative imports,
 * as repository-relative paths. Adapters are left out: they take their
 * settings as options, never from the environment.
 */
export function localImportClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    const source = readSource(path);
    for (const match of source.matchAll(
      /\bfrom\s+["'](\.{1,2}\/[^"']+)["']|\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']/g,
    )) {
      const specifier = match[1] ?? match[2];
      if (specifier === undefined) continue;
      const target = relative(ROOT, resolve(ROOT, dirname(path), specifier.replace(/\.js$/, ".ts")));
      if ((target.startsWith("service/") || target.startsWith("src/")) && existsSync(join(ROOT, target))) visit(target);
    }
  };
  visit(entry);
  return [...seen];
}

/**
 * Environment variable names (values of `ENV` in `service/env.ts`) that the
 * entry point and the code it imports read: by constant (`EDGELOCK_API_TOKENS`),
 * by `ENV.apiTokens`, or by the literal name.
 */
export function envNamesReadBy(entry: string): Set<string> {
  const sources = localImportClosure(entry)
    .filter((path) => path !== ENV_FILE)
    .map(readSource)
    .join("\n");
  const names = new Set<string>();
  for (const [property, name] of Object.entries(ENV)) {
    if (new RegExp(`\\b${name}\\b`).test(sources) || new RegExp(`\\bENV\\.${property}\\b`).test(sources)) {
      names.add(name);
    }
  }
  return names;
}

/** Every environment variable name the service knows. */
export const KNOWN_ENV_NAMES: ReadonlySet<string> = new Set(Object.values(ENV));

/** Service settings the templates leave at their defaults on purpose (backend time limit, waiter caps). */
export const SERVICE_DEFAULTS_KEPT: readonly string[] = [ENV.backendTimeoutMs, ENV.maxWaiters, ENV.maxWaitersPerTenant];
