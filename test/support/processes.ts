import type { ChildProcess } from "node:child_process";
import { once } from "node:events";

/**
 * Stop a backend process the tests started: SIGTERM, then SIGKILL after
 * `graceMs` so a process that ignores it cannot hang a test run, and resolve
 * once it has exited. `group`: signal its whole process group (a child
 * spawned `detached` with children of its own, e.g. `npm start`). Idempotent.
 *
 * @example
 * ```ts
 * const child = spawn("etcd", args);
 * afterAll(() => stopChild(child));
 * ```
 */
export async function stopChild(
  child: ChildProcess,
  options: { readonly graceMs?: number; readonly group?: boolean } = {},
): Promise<void> {
  // No pid: it never started (spawn failed), so there is nothing to stop or wait for.
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const { graceMs = 5_000, group = false } = options;
  const pid = child.pid;
  const signal = (name: NodeJS.Signals) => {
    if (group) process.kill(-pid, name);
    else child.kill(name);
  };
  const exited = once(child, "exit");
  signal("SIGTERM");
  const timer = setTimeout(() => {
    try {
      if (child.exitCode === null && child.signalCode === null) signal("SIGKILL");
    } catch {
      // The group went away between the check and the signal.
    }
  }, graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
