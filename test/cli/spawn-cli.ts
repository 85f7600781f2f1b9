/**
 * Runs the `edgelock` command line as a real process (`node --import tsx
 * cli/main.ts`), collecting its output. Node-only test support.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));

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

export function startCli(args: readonly string[], env: Record<string, string | undefined>, cwd = ROOT): Running {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
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

export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<Finished> {
  return startCli(args, env, cwd).done;
}
