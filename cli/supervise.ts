/**
 * A command run as a child process while something is held (a lock, a
 * permit, leadership): shared by `run`, `sem run` and `elect run`. Signals
 * are caught from before the wait, so one that arrives while waiting ends the
 * wait; once the command runs they are forwarded to it. When what is held is
 * lost, the command gets SIGTERM, then SIGKILL after `killAfterMs`.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import { EXIT } from "./exit-codes.js";
import type { Output } from "./output.js";

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Exit code of a process ended by `signal`, as shells report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

export class Supervisor {
  readonly #out: Output;
  readonly #interrupted = new AbortController();
  #child: ChildProcess | undefined;
  #received: NodeJS.Signals | undefined;
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.#received = signal;
    if (!this.#child) {
      this.#interrupted.abort(new Error(`received ${signal}`));
      return;
    }
    // From a terminal, Ctrl-C already reached the command (same process
    // group): forwarding it too would look like a second Ctrl-C.
    if (signal === "SIGINT" && process.stdin.isTTY) return;
    this.#child.kill(signal);
  };

  /** Starts catching SIGINT, SIGTERM and SIGHUP; {@link close} stops. */
  constructor(out: Output) {
    this.#out = out;
    for (const signal of FORWARDED) process.on(signal, this.#onSignal);
  }

  /** Aborts when a signal arrives before the command started: pass it to the wait. */
  get interrupted(): AbortSignal {
    return this.#interrupted.signal;
  }

  /** The last signal received, if any. */
  get received(): NodeJS.Signals | undefined {
    return this.#received;
  }

  /**
   * Run `argv` with stdio inherited and `env` added to this process's
   * environment; resolves to its exit code (128+N for signal N, 127/126 when
   * it cannot start). When `held` aborts while it runs, it is sent SIGTERM,
   * then SIGKILL after `killAfterMs`.
   */
  spawn(argv: readonly string[], env: Record<string, string>, held: AbortSignal, killAfterMs: number): Promise<number> {
    const [file, ...args] = argv as [string, ...string[]];
    return new Promise<number>((resolve) => {
      const running = spawn(file, args, { stdio: "inherit", env: { ...process.env, ...env } });
      this.#child = running;
      running.once("error", (error: NodeJS.ErrnoException) => {
        this.#out.problem("spawn_failed", `could not run ${JSON.stringify(file)}: ${error.message}`);
        resolve(error.code === "ENOENT" ? EXIT.notFound : EXIT.cannotExecute);
      });
      running.once("exit", (code, signal) => resolve(code ?? (signal ? signalExitCode(signal) : 1)));
      const onLost = () => {
        if (running.exitCode !== null || running.signalCode !== null) return;
        running.kill("SIGTERM");
        const timer = setTimeout(() => running.kill("SIGKILL"), killAfterMs);
        timer.unref();
        running.once("exit", () => clearTimeout(timer));
      };
      if (held.aborted) onLost();
      else held.addEventListener("abort", onLost, { once: true });
      // The held signal also aborts on release, after the command exited.
      running.once("exit", () => held.removeEventListener("abort", onLost));
    });
  }

  close(): void {
    for (const signal of FORWARDED) process.off(signal, this.#onSignal);
  }
}
