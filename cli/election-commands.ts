/**
 * `edgelock elect run | leader | observe`: leader election on one key
 * (`locker.election(key)`), the leader being the holder of the key's lock
 * and its term the lock's fence.
 *
 * @module
 */
import type { Leader } from "../src/election.js";
import { LockAbortedError } from "../src/errors.js";
import type { Parsed } from "./args.js";
import type { Context } from "./commands.js";
import { formatDuration } from "./durations.js";
import { EXIT } from "./exit-codes.js";
import { Supervisor, signalExitCode } from "./supervise.js";

/** Campaign; once leader, run the command while leading; resign when it exits. */
export async function electRunCommand({ locker, out }: Context, parsed: Parsed): Promise<number> {
  const { key } = parsed;
  const name = JSON.stringify(key);
  const identity = parsed.identity ?? "";
  const election = locker.election(key);
  const supervisor = new Supervisor(out);
  const gaveUp = parsed.waitMs === undefined ? undefined : AbortSignal.timeout(parsed.waitMs);
  const started = Date.now();
  try {
    let leadership: Awaited<ReturnType<typeof election.campaign>>;
    try {
      leadership = await election.campaign({
        identity,
        ...(parsed.ttlMs === undefined ? {} : { ttlMs: parsed.ttlMs }),
        signal: gaveUp ? AbortSignal.any([supervisor.interrupted, gaveUp]) : supervisor.interrupted,
      });
    } catch (error) {
      const received = supervisor.received;
      if (error instanceof LockAbortedError && received) {
        out.problem("aborted", `${received} while campaigning for ${name}; the command did not run`, { key });
        return signalExitCode(received);
      }
      if (error instanceof LockAbortedError && gaveUp?.aborted) {
        const wait = formatDuration(parsed.waitMs ?? 0);
        out.problem("not_elected", `not elected leader of ${name} within ${wait}; the command did not run`, { key });
        return EXIT.held;
      }
      throw error;
    }
    const { term, since } = leadership;
    out.progress(
      "elected",
      { key, identity, term, since },
      `elected leader of ${name} as ${JSON.stringify(identity)} (term ${term}, campaigned ${formatDuration(Date.now() - started)})`,
    );
    const env = {
      EDGELOCK_KEY: key,
      EDGELOCK_TERM: String(term),
      EDGELOCK_FENCE: String(term),
      EDGELOCK_IDENTITY: identity,
    };
    const code = await supervisor.spawn(parsed.argv, env, leadership.signal, parsed.killAfterMs ?? 10_000);
    // Resigning aborts the signal too: read it first.
    const lost = leadership.signal.aborted;
    const reason: unknown = leadership.signal.reason;
    // Resign frees the lease for the next candidate; a failure leaves it to expire at its TTL.
    await leadership.resign().catch((error: unknown) => out.failure(error));
    if (lost) {
      const why = reason instanceof Error ? ` (${reason.message})` : "";
      out.problem(
        "leadership_lost",
        `lost leadership of ${name} (term ${term}) while the command ran${why}; the command was sent SIGTERM and another leader may have run`,
        { key, term },
      );
      return EXIT.lost;
    }
    out.progress(
      "resigned",
      { key, term, exitCode: code, ledMs: Date.now() - since },
      `resigned leadership of ${name} (term ${term}); the command exited ${code}`,
    );
    return code;
  } finally {
    supervisor.close();
  }
}

/** Who leads now: identity, term, since when. */
export async function electLeaderCommand({ locker, out }: Context, parsed: Parsed): Promise<number> {
  const leader = await locker.election(parsed.key).leader();
  out.result({ key: parsed.key, leader }, describe(parsed.key, leader, Date.now()));
  return EXIT.ok;
}

/** The leader now, then every change, one line each, until a signal ends it (exit 0). */
export async function electObserveCommand({ locker, out }: Context, parsed: Parsed): Promise<number> {
  // No child here: the supervisor's signal handling just ends the watch.
  const supervisor = new Supervisor(out);
  try {
    const changes = locker.election(parsed.key).observe({
      signal: supervisor.interrupted,
      ...(parsed.intervalMs === undefined ? {} : { intervalMs: parsed.intervalMs }),
    });
    for await (const leader of changes) {
      const at = Date.now();
      out.result({ key: parsed.key, at, leader }, `${new Date(at).toISOString()} ${describe(parsed.key, leader, at)}`);
    }
    return EXIT.ok;
  } finally {
    supervisor.close();
  }
}

function describe(key: string, leader: Leader | null, now: number): string {
  const name = JSON.stringify(key);
  if (leader === null) return `nobody leads ${name}`;
  // since is 0 when the key's lock was taken by something other than an election.
  const since =
    leader.since > 0 ? `, since ${new Date(leader.since).toISOString()} (${formatDuration(now - leader.since)})` : "";
  return `${name} is led by ${JSON.stringify(leader.identity)}: term ${leader.term}${since}, lease expires in ${formatDuration(leader.expiresAt - now)}`;
}
