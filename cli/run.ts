/**
 * `edgelock run` (a cloud `flock`) and `edgelock sem run` (at most N at
 * once): the lock client's `withLock`, or the semaphore's `withPermit`, takes
 * the lease and keeps extending it; the command runs as a child process
 * (see {@link Supervisor}) and its exit ends the lease.
 *
 * @module
 */
import { LockAbortedError, LockLostError } from "../src/errors.js";
import type { Lease } from "../src/lease.js";
import type { Locker, WithLockOptions, WithLockResult } from "../src/options.js";
import type { Parsed } from "./args.js";
import { formatDuration } from "./durations.js";
import { EXIT } from "./exit-codes.js";
import type { Output } from "./output.js";
import { Supervisor, signalExitCode } from "./supervise.js";

/** What a run holds while its command runs, and how its messages name it. */
interface Holding {
  /** `"key"`, or `a permit of "key"`. */
  readonly what: string;
  /** What was lost, for the message. */
  readonly lost: string;
  /** Why nothing ran when none was free. */
  readonly taken: string;
  readonly env: Record<string, string>;
  hold(fn: (lease: Lease) => Promise<number>, options: WithLockOptions): Promise<WithLockResult<number>>;
}

export function runCommand(locker: Locker, parsed: Parsed, out: Output): Promise<number> {
  const { key } = parsed;
  return holdWhileRunning(
    {
      what: JSON.stringify(key),
      lost: `the lock on ${JSON.stringify(key)}`,
      taken: `${JSON.stringify(key)} is held by another process`,
      env: { EDGELOCK_KEY: key },
      hold: (fn, options) => locker.withLock(key, fn, options),
    },
    parsed,
    out,
  );
}

export function semaphoreRunCommand(locker: Locker, parsed: Parsed, out: Output): Promise<number> {
  const { key } = parsed;
  const limit = parsed.limit ?? 1;
  const semaphore = locker.semaphore(key, { limit });
  return holdWhileRunning(
    {
      what: `a permit of ${JSON.stringify(key)}`,
      lost: `the permit of ${JSON.stringify(key)}`,
      taken: `all ${limit} permits of ${JSON.stringify(key)} are held`,
      env: { EDGELOCK_KEY: key, EDGELOCK_LIMIT: String(limit) },
      hold: (fn, options) => semaphore.withPermit(fn, options),
    },
    parsed,
    out,
  );
}

async function holdWhileRunning(holding: Holding, parsed: Parsed, out: Output): Promise<number> {
  const { key } = parsed;
  const supervisor = new Supervisor(out);
  const started = Date.now();
  const execute = (lease: Lease) => {
    out.progress(
      "acquired",
      { key, fence: lease.fence, ttlMs: lease.ttlMs },
      `acquired ${holding.what} (fence ${lease.fence}, ttl ${formatDuration(lease.ttlMs)}, waited ${formatDuration(Date.now() - started)})`,
    );
    const env = { ...holding.env, EDGELOCK_FENCE: String(lease.fence) };
    return supervisor.spawn(parsed.argv, env, lease.signal, parsed.killAfterMs ?? 10_000);
  };
  try {
    const result = await holding.hold(execute, {
      ...(parsed.ttlMs === undefined ? {} : { ttlMs: parsed.ttlMs }),
      waitMs: parsed.waitMs ?? 10_000,
      ...(parsed.owner === undefined ? {} : { owner: parsed.owner }),
      signal: supervisor.interrupted,
    });
    if (!result.ran) {
      const waited = parsed.waitMs ? ` after waiting ${formatDuration(parsed.waitMs)}` : "";
      out.problem("held", `${holding.taken}${waited}; the command did not run`, { key });
      return EXIT.held;
    }
    out.progress(
      "released",
      { key, fence: result.fence, exitCode: result.value, heldMs: Date.now() - started },
      `released ${holding.what} (fence ${result.fence}); the command exited ${result.value}`,
    );
    return result.value;
  } catch (error) {
    if (error instanceof LockLostError) {
      const why = error.cause instanceof Error ? ` (${error.cause.message})` : "";
      out.problem(
        "lock_lost",
        `lost ${holding.lost} while the command ran${why}; the command was sent SIGTERM and its work was not protected`,
        { key },
      );
      return EXIT.lost;
    }
    const received = supervisor.received;
    if (error instanceof LockAbortedError && received) {
      out.problem("aborted", `${received} while waiting for ${holding.what}; the command did not run`, { key });
      return signalExitCode(received);
    }
    throw error;
  } finally {
    supervisor.close();
  }
}
