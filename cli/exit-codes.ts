/**
 * Exit codes of `edgelock`, documented in docs/cli.md. `run` (and `sem run`,
 * `elect run`) otherwise exits with its command's code (128 + the signal
 * number when a signal ended it, as shells report it).
 *
 * @module
 */
export const EXIT = {
  /** Done. */
  ok: 0,
  /**
   * `break`: nothing was held (under that fence). `release`/`extend`: the
   * token does not hold the key (`sem`: a permit of it).
   */
  notHeld: 1,
  /** Bad command line: unknown command or option, bad duration, missing key. */
  usage: 64,
  /** The backend failed or refused (unreachable, timeout, wrong credentials, misconfigured). */
  backend: 69,
  /**
   * The lock is held and was not acquired within `--wait` (`--wait 0`: at
   * once); `sem`: all permits are held; `elect run`: not elected within
   * `--wait`. Nothing ran.
   */
  held: 75,
  /**
   * `run`: the lease (`sem run`: the permit, `elect run`: leadership) was
   * lost while the command ran; the command was signalled.
   */
  lost: 76,
  /** `run`: the command could not be started (not executable). */
  cannotExecute: 126,
  /** `run`: the command was not found. */
  notFound: 127,
} as const;
