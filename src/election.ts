import { InvalidArgumentError, LockLostError, LockTimeoutError } from "./errors.js";
import type { Lease } from "./lease.js";
import { keepExtended } from "./lease-renewal.js";
import type { Locker } from "./options.js";
import { abortError, sleep } from "./timing.js";
import { newToken } from "./token.js";
import {
  MAX_DURATION_MS,
  MAX_OWNER_BYTES,
  utf8Length,
  validateDuration,
  validateKey,
  validateOwner,
} from "./validate.js";

/** Longest identity, in UTF-8 bytes: the lock's owner field also carries the leader's start time. */
export const MAX_IDENTITY_BYTES = MAX_OWNER_BYTES - 16;

/** Default interval of {@link Election.observe}, ms. */
export const DEFAULT_OBSERVE_INTERVAL_MS = 1_000;

/** How long a campaign waits in one acquire before starting a fresh one (so `since` stays accurate), ms. */
const CAMPAIGN_CHUNK_MS = 2_000;

/** Options of {@link Election.campaign}. */
export interface CampaignOptions {
  /** Who this candidate is, shown to everyone by {@link Election.leader}. Default: a random `candidate-…`. */
  readonly identity?: string;
  /** Leadership lease TTL, ms; extended every third of it while leading. Default: the locker's `defaultTtlMs`. */
  readonly ttlMs?: number;
  /** Gives up campaigning (rejects with `LockAbortedError`); once leader, use {@link Leadership.resign}. */
  readonly signal?: AbortSignal;
}

/** Who leads, as anyone can read it (no token). */
export interface Leader {
  /** The identity the leader chose. */
  readonly identity: string;
  /** The leadership lock's fence: rises on every election; fence a deposed leader's writes with it. */
  readonly term: number;
  /** Epoch ms on the leader's clock when it sent its winning request. */
  readonly since: number;
  /** When the leader's lease runs out unless extended, per the backend's clock. */
  readonly expiresAt: number;
}

/** This instance's leadership, from {@link Election.campaign}. */
export interface Leadership extends AsyncDisposable {
  readonly identity: string;
  /** The term (the lock's fence): strictly greater than any earlier leader's. */
  readonly term: number;
  readonly since: number;
  /** The lease's conservative local deadline (epoch ms, this machine), pushed on by each extension. */
  readonly expiresAt: number;
  /**
   * Aborts the moment leadership is lost or given up: an extension refused,
   * or no extension succeeded by `stepDownMs` before the lease's deadline
   * (the leader stops while the lease still excludes everyone else), or
   * {@link resign}. The reason is a `LockLostError`.
   */
  readonly signal: AbortSignal;
  /** Stop leading and free the lease at once, so a waiting candidate takes over. Idempotent. */
  resign(): Promise<void>;
}

/** Options of {@link Election.observe}. */
export interface ObserveOptions {
  /** Poll interval, ms (every backend is read by polling `inspect`). Default 1 000. */
  readonly intervalMs?: number;
  /** Ends the iteration. */
  readonly signal?: AbortSignal;
}

/**
 * Leader election on one key, built on the lock: the leader is the holder of
 * the key's lock, its term the lock's fence. Works on every adapter.
 *
 * @example
 * ```ts
 * const election = locker.election("scheduler");
 * const leadership = await election.campaign({ identity: `pod-${podName}`, ttlMs: 15_000 });
 * while (!leadership.signal.aborted) await runScheduledJobs({ fence: leadership.term, signal: leadership.signal });
 * ```
 */
export interface Election {
  readonly key: string;
  /** Resolve once this candidate leads; keep campaigning until then. */
  campaign(options?: CampaignOptions): Promise<Leadership>;
  /** The current leader, or `null` when nobody leads (or a new leader's grant is still being written). */
  leader(options?: { signal?: AbortSignal }): Promise<Leader | null>;
  /** The leader now, then each change of leader (or to none), polled every `intervalMs`. */
  observe(options?: ObserveOptions): AsyncIterable<Leader | null>;
}

export function createElection(locker: Locker, key: string, report: (error: unknown) => void): Election {
  validateKey(key);

  const leader = async (options: { signal?: AbortSignal } = {}): Promise<Leader | null> => {
    const state = await locker.inspect(key, options);
    // Fences start at 1: a fence of 0 is no grant (an adapter that writes its
    // fence in a second request must not show the lease before it).
    if (!state.held || state.fence < 1) return null;
    return { ...parseOwner(state.owner), term: state.fence, expiresAt: state.expiresAt };
  };

  return {
    key,
    async campaign(options: CampaignOptions = {}): Promise<Leadership> {
      const identity = validateIdentity(options.identity ?? `candidate-${newToken().slice(0, 10)}`);
      const signal = options.signal;
      for (;;) {
        if (signal?.aborted) throw abortError(signal);
        const since = Date.now();
        try {
          const lease = await locker.acquire(key, {
            waitMs: CAMPAIGN_CHUNK_MS,
            owner: `${since} ${identity}`,
            ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
            ...(signal ? { signal } : {}),
          });
          return leadershipOf(lease, identity, since, report);
        } catch (error) {
          if (!(error instanceof LockTimeoutError)) throw error;
        }
      }
    },
    leader,
    observe(options: ObserveOptions = {}): AsyncIterable<Leader | null> {
      const intervalMs = validateDuration(
        "intervalMs",
        options.intervalMs ?? DEFAULT_OBSERVE_INTERVAL_MS,
        1,
        MAX_DURATION_MS,
      );
      const signal = options.signal;
      return {
        async *[Symbol.asyncIterator]() {
          let last: Leader | null | undefined;
          while (!signal?.aborted) {
            const now = await leader(signal ? { signal } : {}).catch((error: unknown) => {
              if (signal?.aborted) return undefined;
              throw error;
            });
            if (now === undefined) return;
            if (last === undefined || !sameLeader(last, now)) yield now;
            last = now;
            try {
              await sleep(intervalMs, signal);
            } catch {
              return;
            }
          }
        },
      };
    },
  };
}

function leadershipOf(lease: Lease, identity: string, since: number, report: (error: unknown) => void): Leadership {
  const stop = new AbortController();
  const stepDown = new AbortController();
  const reporter = { report };
  const extending = keepExtended(lease, stop.signal, reporter);
  const signal = AbortSignal.any([lease.signal, stepDown.signal]);
  // Stand down a little before the deadline when no extension got through:
  // the lease still excludes every other candidate while the work stops.
  const stepDownMs = Math.min(Math.floor(lease.ttlMs / 10), 1_000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = () => {
    const left = lease.expiresAt - stepDownMs - Date.now();
    if (left > 0) {
      timer = setTimeout(watch, left);
      (timer as { unref?: () => void }).unref?.();
      return;
    }
    stepDown.abort(new LockLostError(lease.key, `leadership of "${lease.key}" lost: no extension succeeded in time`));
  };
  watch();
  let resigning: Promise<void> | undefined;
  const resign = () => {
    resigning ??= (async () => {
      if (timer !== undefined) clearTimeout(timer);
      stop.abort();
      await extending;
      await lease.release();
    })();
    return resigning;
  };
  signal.addEventListener(
    "abort",
    () => {
      if (timer !== undefined) clearTimeout(timer);
      // Lost or stood down: stop extending and give the lock back where it still can be.
      if (!resigning) resign().catch(report);
    },
    { once: true },
  );
  return {
    identity,
    term: lease.fence,
    since,
    get expiresAt() {
      return lease.expiresAt;
    },
    signal,
    resign,
    [Symbol.asyncDispose]: resign,
  };
}

function validateIdentity(identity: unknown): string {
  const checked = validateOwner(identity) as string;
  const bytes = utf8Length(checked);
  if (bytes > MAX_IDENTITY_BYTES) {
    throw new InvalidArgumentError(`identity must be 1 to ${MAX_IDENTITY_BYTES} bytes of UTF-8, got ${bytes}`);
  }
  return checked;
}

function parseOwner(owner: string | undefined): { identity: string; since: number } {
  const match = owner === undefined ? null : /^(\d+) ([\s\S]*)$/.exec(owner);
  if (!match) return { identity: owner ?? "", since: 0 };
  return { identity: match[2] ?? "", since: Number(match[1]) };
}

function sameLeader(a: Leader | null, b: Leader | null): boolean {
  if (a === null || b === null) return a === b;
  return a.term === b.term && a.identity === b.identity;
}
