/**
 * `edgelock run`: a cloud `flock`. The lock client's `withLock` takes the
 * lock and keeps extending it; the command runs as a child process that
 * inherits stdio, and its exit ends the lease.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import { LockAbortedError, LockLostError } from "../src/errors.js";
import type { Lease } from "../src/lease.js";
import type { Locker } from "../src/locker.js";
import type { Parsed } from "./args.js";
import { formatDuration } from "./durations.js";
import { EXIT } from "./exit-codes.js";
import type { Output } from "./output.js";

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Exit code of a process ended by `signal`, as shells report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

export async function runCommand(locker: Locker, parsed: Parsed, out: Output): Promise<number> {
  const { key } = parsed;
  const [file, ...args] = parsed.argv as [string, ...string[]];
  const killAfterMs = parsed.killAfterMs ?? 10_000;
  const interrupted = new AbortController();
  let child: ChildProcess | undefined;
  let received: NodeJS.Signals | undefined;

  const onSignal = (signal: NodeJS.Signals) => {
    received = signal;
    if (!child) {
      interrupted.abort(new Error(`received ${signal}`));
      return;
    }
    // From a terminal, Ctrl-C already reached the command (same process
    // group): forwarding it too would look like a second Ctrl-C.
    if (signal === "SIGINT" && process.stdin.isTTY) return;
    child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, onSignal);

  const started = Date.now();
  const execute = (lease: Lease) =>
    new Promise<number>((resolve) => {
      out.progress(
        "acquired",
        { key, fence: lease.fence, ttlMs: lease.ttlMs },
        `acquired "${key}" (fence ${lease.fence}, ttl ${formatDuration(lease.ttlMs)}, waited ${formatDuration(Date.now() - started)})`,
      );
      const running = spawn(file, args, {
        stdio: "inherit",
        env: { ...process.env, EDGELOCK_KEY: key, EDGELOCK_FENCE: String(lease.fence) },
      });
      child = running;
      running.once("error", (error: NodeJS.ErrnoException) => {
        out.problem("spawn_failed", `could not run ${JSON.stringify(file)}: ${error.message}`);
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
      lease.signal.addEventListener("abort", onLost, { once: true });
      // The lease signal also aborts on release, after the command exited.
      running.once("exit", () => lease.signal.removeEventListener("abort", onLost));
    });

  try {
    const result = await locker.withLock(key, execute, {
      ...(parsed.ttlMs === undefined ? {} : { ttlMs: parsed.ttlMs }),
      waitMs: parsed.waitMs ?? 10_000,
      ...(parsed.owner === undefined ? {} : { owner: parsed.owner }),
      signal: interrupted.signal,
    });
    if (!result.ran) {
      const waited = parsed.waitMs ? ` after waiting ${formatDuration(parsed.waitMs)}` : "";
      out.problem("held", `"${key}" is held by another process${waited}; the command did not run`, { key });
      return EXIT.held;
    }
    out.progress(
      "released",
      { key, fence: result.fence, exitCode: result.value, heldMs: Date.now() - started },
      `released "${key}" (fence ${result.fence}); the command exited ${result.value}`,
    );
    return result.value;
  } catch (error) {
    if (error instanceof LockLostError) {
      const why = error.cause instanceof Error ? ` (${error.cause.message})` : "";
      out.problem(
        "lock_lost",
        `lost the lock on "${key}" while the command ran${why}; the command was sent SIGTERM and its work was not protected`,
        { key },
      );
      return EXIT.lost;
    }
    if (error instanceof LockAbortedError && received) {
      out.problem("aborted", `${received} while waiting for "${key}"; the command did not run`, { key });
      return signalExitCode(received);
    }
    throw error;
  } finally {
    for (const signal of FORWARDED) process.off(signal, onSignal);
  }
}
