import { InvalidArgumentError } from "../src/errors.js";

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A duration as people write it: `1500ms`, `30s`, `1.5s`, `5m`, `2h`, or
 * `0`. A unit is required for anything but zero, so `30` is never read as
 * either seconds or milliseconds by surprise.
 *
 * @example
 * ```ts
 * parseDuration("--ttl", "1.5s"); // 1500
 * ```
 */
export function parseDuration(what: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const amount = match ? Number(match[1]) : Number.NaN;
  const unit = match?.[2];
  if (!match || (unit === undefined && amount !== 0)) {
    throw new InvalidArgumentError(
      `${what} must be a duration such as 1500ms, 30s, 5m or 1h, got ${JSON.stringify(text)}`,
    );
  }
  const ms = amount * (unit === undefined ? 1 : (UNITS[unit] ?? Number.NaN));
  if (!Number.isSafeInteger(ms)) {
    throw new InvalidArgumentError(`${what} must be a whole number of milliseconds, got ${JSON.stringify(text)}`);
  }
  return ms;
}

/** `1500` → `1.5s`, `90000` → `1m30s`, `250` → `250ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
