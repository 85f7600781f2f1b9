/**
 * Runs the `edgelock` command line as a real process, collecting its output.
 * `cli/main.ts` is bundled once per test file with esbuild (packages stay
 * external, resolved from the repository's node_modules), so each process
 * starts as plain Node rather than transpiling on every start. Node-only
 * test support.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));

let bundled: Promise<string> | undefined;

/** The bundled CLI, built on first use: `node <path> …` runs it. */
export function cliBundle(): Promise<string> {
  bundled ??= (async () => {
    const outfile = `${ROOT}node_modules/.cache/edgelock-cli-test/main-${process.pid}-${Date.now()}.mjs`;
    await build({
      entryPoints: [MAIN],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      outfile,
      logLevel: "error",
    });
    return outfile;
  })();
  return bundled;
}

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly child: ChildProcess;
  readonly done: Promise<Finished>;
  /** Resolves once stdout contains `text`. */
  stdoutIncludes(text: string): Promise<void>;
}

/** Start the CLI; call {@link cliBundle} first (a `beforeAll`) so the start itself is synchronous. */
export function startCli(
  bundle: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  cwd = ROOT,
): Running {
  const child = spawn(process.execPath, [bundle, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const waiter of waiters.filter((w) => stdout.includes(w.text))) waiter.resolve();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<Finished>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    stdoutIncludes: (text) =>
      stdout.includes(text)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ text, resolve })),
            done.then((finished) => {
              throw new Error(`edgelock exited before printing ${JSON.stringify(text)}: ${JSON.stringify(finished)}`);
            }),
          ]),
  };
}

export async function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<Finished> {
  return startCli(await cliBundle(), args, env, cwd).done;
}
