/**
 * The service's default error log: one short line per event, never a stack,
 * never anything shaped like an owner token, and at most a few lines a
 * second whatever clients do (a client that disconnects in a loop must not
 * flood the logs); suppressed lines are counted in the next one.
 *
 * @module
 */
import { EdgelockError } from "../src/errors.js";

/** Lines per window before the log goes quiet until the window ends. */
const LINES_PER_WINDOW = 5;
const WINDOW_MS = 10_000;
// Owner tokens are 22 characters of base64url; API tokens follow "Bearer".
const TOKEN_SHAPED = /\b[A-Za-z0-9_-]{22}\b|Bearer\s+\S+/g;

/** What the service reports: the operation, whether the caller had gone, and the error. */
export interface ServiceEvent {
  readonly operation: string;
  readonly callerGone: boolean;
  readonly error: unknown;
}

/** A rate-limited logger of {@link ServiceEvent}s writing through `write` (default `console.error`). */
export function conciseErrorLog(
  write: (line: string) => void = (line) => console.error(line),
  now: () => number = Date.now,
): (event: ServiceEvent) => void {
  let windowStart = -Infinity;
  let written = 0;
  let suppressed = 0;
  return ({ operation, callerGone, error }) => {
    const time = now();
    if (time - windowStart >= WINDOW_MS) {
      windowStart = time;
      written = 0;
    }
    if (written >= LINES_PER_WINDOW) {
      suppressed++;
      return;
    }
    written++;
    const more = suppressed > 0 ? ` (+${suppressed} similar lines suppressed)` : "";
    suppressed = 0;
    write(
      `edgelock service: ${operation} ${callerGone ? "ended, caller disconnected" : "failed"}: ${describe(error)}${more}`,
    );
  };
}

/** One line: the error's class, code and first line of its message, token-shaped strings masked. */
export function describe(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  const code = error instanceof EdgelockError ? ` ${error.code}` : "";
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0]?.slice(0, 200) ?? "";
  return `${name}${code}: ${message.replace(TOKEN_SHAPED, "[redacted]")}`;
}
