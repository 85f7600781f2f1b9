/**
 * Informed polling for adapters that cannot push wake-ups (DynamoDB, Azure
 * Blob): instead of blind backoff, a waiter sleeps until the lock will
 * likely be free, from what this adapter instance has seen of the key.
 *
 * - **Hold times.** Each release records how long its holder kept the lock
 *   (in the lock record: the next refusal carries it at no extra request);
 *   grants record when they were made. A waiter refused by a holder granted
 *   at `acquiredAt` expects the release near `acquiredAt + typical hold`.
 * - **Spread.** Many waiters aiming at the same release would stampede: each
 *   picks one of the next `spread` hand-offs (spaced by the typical period
 *   between grants) at random. `spread` grows when a waiter that aimed at the
 *   very next release was beaten to it, and shrinks when a grant finds the
 *   lock had been idle, so it settles near the number of waiters.
 * - **Local hand-off.** While a holder from this instance keeps the lock,
 *   this instance's waiters do not poll: its release wakes the oldest one at
 *   once, and the others wait for that one's outcome.
 *
 * Every sleep is bounded by the holder's expiry (`retryAfterMs`), the
 * caller's wait and {@link WaitScheduleOptions.maxGapMs}, and is at least
 * {@link WaitScheduleOptions.floorMs}; a wrong guess, a lost wake-up or
 * another instance's clock costs latency, never safety: only the backend's
 * atomic acquire ever grants.
 *
 * @module
 */
import { abortError } from "./timing.js";
import type { AdapterPollWaitRequest } from "./types.js";

/** What a refusal showed of the holder, where the backend's answer carries it. */
export interface HolderView {
  /** Fence of the holder that refused. */
  readonly fence?: number | undefined;
  /** When that holder was granted, epoch ms on its clock. */
  readonly acquiredAt?: number | undefined;
  /** How long the holder before it kept the lock, ms. */
  readonly lastHeldMs?: number | undefined;
}

/** What a grant showed of the holder before it, where the backend's answer carries it. */
export interface PreviousHolder {
  /** When the previous holder released, epoch ms on its clock. */
  readonly releasedAt?: number | undefined;
  /** How long it kept the lock, ms. */
  readonly lastHeldMs?: number | undefined;
}

export interface WaitScheduleOptions {
  /** Shortest sleep between two attempts of one waiter, ms. Default 2. */
  readonly floorMs?: number;
  /** Longest sleep between two attempts of one waiter, ms. Default 1 000 (as the default backoff). */
  readonly maxGapMs?: number;
  /**
   * Longest sleep while a holder from this instance keeps the lock, ms (its
   * release wakes a waiter at once; this bounds the wait when it is released
   * through another instance or broken). Default 5 000.
   */
  readonly maxLocalGapMs?: number;
  /** Keys remembered (least recently used dropped). Default 1 000. */
  readonly maxKeys?: number;
  /** Largest spread, hand-offs. Default 64. */
  readonly maxSpread?: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Weight of a new sample in the moving averages. */
const ALPHA = 0.3;
/** Plans remembered per key. */
const MAX_PLANS = 256;
/** Longest a local hand-off holds the other local waiters back, in periods. */
const HANDOVER_PERIODS = 4;

interface Sleeper {
  readonly token: string;
  readonly startedAt: number;
  /** Absolute bound of this sleep: wait deadline, holder expiry, largest gap. */
  readonly boundAt: number;
  readonly fallbackMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  wake(): void;
}

interface KeyState {
  holdMs: number | undefined;
  periodMs: number | undefined;
  spread: number;
  /** The latest grant seen, by fence. */
  lastGrant: { fence: number; at: number } | undefined;
  view: HolderView | undefined;
  /** A holder granted by this instance and not yet released. */
  local: { token: string; fence: number | undefined; grantedAt: number; expiresAt: number } | undefined;
  /** A local waiter woken by a local release, whose attempt the others wait for. */
  handover: { token: string; until: number } | undefined;
  readonly sleepers: Set<Sleeper>;
  /** Each waiting token's last plan: the fence it saw and the hand-off it aimed at. */
  readonly plans: Map<string, { fence: number | undefined; slot: number }>;
}

export class WaitSchedule {
  readonly #keys = new Map<string, KeyState>();
  readonly #floorMs: number;
  readonly #maxGapMs: number;
  readonly #maxLocalGapMs: number;
  readonly #maxKeys: number;
  readonly #maxSpread: number;
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(options: WaitScheduleOptions = {}) {
    this.#floorMs = options.floorMs ?? 2;
    this.#maxGapMs = options.maxGapMs ?? 1_000;
    this.#maxLocalGapMs = options.maxLocalGapMs ?? 5_000;
    this.#maxKeys = options.maxKeys ?? 1_000;
    this.#maxSpread = options.maxSpread ?? 64;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** The typical hold, period and spread learnt for `key` (for tests and docs). */
  estimates(key: string): { holdMs?: number | undefined; periodMs?: number | undefined; spread: number } {
    const state = this.#keys.get(key);
    return { holdMs: state?.holdMs, periodMs: state?.periodMs, spread: state?.spread ?? 1 };
  }

  /** `token` was granted `key` by this instance (`expiresAt` on this clock). */
  granted(key: string, token: string, fence: number | undefined, expiresAt: number, previous?: PreviousHolder): void {
    const state = this.#state(key);
    const now = this.#now();
    this.#observeHold(state, previous?.lastHeldMs);
    if (fence !== undefined) this.#observeGrant(state, fence, now);
    const plan = state.plans.get(token);
    state.plans.delete(token);
    // The lock sat free before this waiter came: the waiters are spread too thin.
    const period = state.periodMs ?? state.holdMs;
    if (plan && previous?.releasedAt !== undefined && period !== undefined && now - previous.releasedAt > period / 2) {
      state.spread = Math.max(1, state.spread * 0.85);
    }
    state.local = { token, fence, grantedAt: now, expiresAt };
    const settled = state.handover !== undefined;
    state.handover = undefined;
    if (settled || state.sleepers.size > 0) this.#replan(state);
  }

  /** `token`'s lease on `key` was extended by this instance. */
  extended(key: string, token: string, expiresAt: number): void {
    const local = this.#keys.get(key)?.local;
    if (local?.token === token) local.expiresAt = expiresAt;
  }

  /**
   * `token` released `key` through this instance (or tried to: call it
   * whatever the answer, a waiter that polls in vain only costs a request).
   * The oldest local waiter attempts at once.
   */
  released(key: string, token: string): void {
    const state = this.#keys.get(key);
    if (state?.local?.token !== token) return;
    this.#observeHold(state, this.#now() - state.local.grantedAt);
    state.local = undefined;
    const [first] = state.sleepers;
    if (!first) return;
    const period = state.periodMs ?? state.holdMs ?? this.#floorMs;
    state.handover = { token: first.token, until: this.#now() + Math.max(this.#floorMs, HANDOVER_PERIODS * period) };
    first.wake();
    this.#replan(state);
  }

  /** `token` was refused `key`; `view` is what the refusal showed of the holder. */
  refused(key: string, token: string, view: HolderView | undefined): void {
    const state = this.#state(key);
    this.#observeHold(state, view?.lastHeldMs);
    if (view?.fence !== undefined && view.acquiredAt !== undefined)
      this.#observeGrant(state, view.fence, view.acquiredAt);
    if (view !== undefined) state.view = view;
    // Our holder is not the one refusing: it lost the lock.
    if (view?.fence !== undefined && state.local !== undefined && state.local.fence !== view.fence) {
      state.local = undefined;
    }
    const plan = state.plans.get(token);
    // It aimed at a release and someone else got that one (or the refusal cannot tell): the waiters are packed too tight.
    if (
      plan !== undefined &&
      (plan.fence === undefined || view?.fence === undefined || view.fence > plan.fence + plan.slot)
    ) {
      state.spread = Math.min(this.#maxSpread, state.spread + 1);
    }
    if (state.handover?.token === token) {
      state.handover = undefined;
      this.#replan(state);
    }
  }

  /**
   * Sleep until `request.token` should attempt `request.key` again (see the
   * module's rules); rejects with `LockAbortedError` when the signal aborts.
   */
  wait(request: AdapterPollWaitRequest): Promise<void> {
    const { key, token, refusal, fallbackMs, remainingMs, signal } = request;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const state = this.#state(key);
    const now = this.#now();
    const boundMs = Math.max(0, Math.min(remainingMs, refusal.retryAfterMs ?? Number.POSITIVE_INFINITY));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        finish();
        reject(abortError(signal as AbortSignal));
      };
      const finish = () => {
        if (sleeper.timer !== undefined) clearTimeout(sleeper.timer);
        state.sleepers.delete(sleeper);
        signal?.removeEventListener("abort", onAbort);
      };
      const sleeper: Sleeper = {
        token,
        startedAt: now,
        boundAt: now + boundMs,
        fallbackMs,
        timer: undefined,
        wake: () => {
          finish();
          resolve();
        },
      };
      state.sleepers.add(sleeper);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#arm(state, sleeper);
    });
  }

  /** (Re)set a sleeper's timer from the key's current state. */
  #arm(state: KeyState, sleeper: Sleeper): void {
    if (sleeper.timer !== undefined) clearTimeout(sleeper.timer);
    const left = Math.max(0, sleeper.boundAt - this.#now());
    const delay = Math.min(left, Math.max(Math.min(this.#floorMs, left), this.#plan(state, sleeper)));
    sleeper.timer = setTimeout(sleeper.wake, delay);
  }

  #replan(state: KeyState): void {
    for (const sleeper of state.sleepers) this.#arm(state, sleeper);
  }

  /** How long `sleeper` should sleep from now, before the bounds are applied. */
  #plan(state: KeyState, sleeper: Sleeper): number {
    const now = this.#now();
    const { local, handover } = state;
    if (local !== undefined && local.token !== sleeper.token && local.expiresAt > now) {
      // Woken by its release; polling meanwhile would only be refused.
      return Math.min(local.expiresAt, sleeper.startedAt + this.#maxLocalGapMs) - now;
    }
    if (handover !== undefined && handover.token !== sleeper.token && handover.until > now) {
      return handover.until - now;
    }
    const gapLeft = sleeper.startedAt + this.#maxGapMs - now;
    return Math.min(this.#remotePlan(state, sleeper.token, sleeper.fallbackMs), gapLeft);
  }

  /** When a holder elsewhere will likely release, and which of the hand-offs after it to aim at. */
  #remotePlan(state: KeyState, token: string, fallbackMs: number): number {
    const now = this.#now();
    const hold = state.holdMs;
    if (hold === undefined) return fallbackMs;
    const period = Math.max(state.periodMs ?? hold, this.#floorMs);
    const view = state.view;
    let untilRelease = view?.acquiredAt === undefined ? -1 : view.acquiredAt + hold - now;
    // Unknown phase, or the holder is past its typical hold: somewhere within a period.
    if (untilRelease < 0) untilRelease = this.#random() * period;
    const slot = Math.floor(this.#random() * state.spread);
    state.plans.delete(token);
    state.plans.set(token, { fence: view?.fence, slot });
    // Waits that ended without a grant here (timeouts, grants elsewhere) leave plans behind.
    if (state.plans.size > MAX_PLANS) {
      const [oldest] = state.plans.keys();
      if (oldest !== undefined) state.plans.delete(oldest);
    }
    return untilRelease + slot * period + this.#random() * Math.min(period / 4, 5);
  }

  #observeHold(state: KeyState, heldMs: number | undefined): void {
    if (heldMs === undefined || !Number.isFinite(heldMs) || heldMs <= 0) return;
    state.holdMs = state.holdMs === undefined ? heldMs : state.holdMs + ALPHA * (heldMs - state.holdMs);
  }

  #observeGrant(state: KeyState, fence: number, at: number): void {
    const last = state.lastGrant;
    if (last !== undefined && fence <= last.fence) return;
    if (last !== undefined && at > last.at) {
      const period = (at - last.at) / (fence - last.fence);
      state.periodMs = state.periodMs === undefined ? period : state.periodMs + ALPHA * (period - state.periodMs);
    }
    state.lastGrant = { fence, at };
  }

  #state(key: string): KeyState {
    let state = this.#keys.get(key);
    if (state) {
      this.#keys.delete(key);
      this.#keys.set(key, state);
      return state;
    }
    state = {
      holdMs: undefined,
      periodMs: undefined,
      spread: 1,
      lastGrant: undefined,
      view: undefined,
      local: undefined,
      handover: undefined,
      sleepers: new Set(),
      plans: new Map(),
    };
    this.#keys.set(key, state);
    if (this.#keys.size > this.#maxKeys) {
      for (const [oldest, old] of this.#keys) {
        if (old.sleepers.size === 0 && oldest !== key) {
          this.#keys.delete(oldest);
          break;
        }
      }
    }
    return state;
  }
}
