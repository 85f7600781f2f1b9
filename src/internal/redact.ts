/**
 * Owner tokens never leave in errors: a backend client may echo the command
 * it sent (`@upstash/redis` appends `command was: [...]`, token included) and
 * an adapter may keep that error as a cause. Before the lock client throws or
 * reports an error it scrubs the token out of the error, its causes and their
 * messages and stacks.
 *
 * @module
 */

const REDACTED = "[owner token]";
const MAX_DEPTH = 8;

/** `error` with every occurrence of `token` in it and its cause chain replaced. Returns `error`. */
export function redactToken<E>(error: E, token: string): E {
  scrub(error, token, 0, new Set());
  return error;
}

function scrub(value: unknown, token: string, depth: number, seen: Set<unknown>): unknown {
  if (typeof value === "string") return value.includes(token) ? value.split(token).join(REDACTED) : value;
  if (typeof value !== "object" || value === null || depth > MAX_DEPTH || seen.has(value)) return value;
  seen.add(value);
  const fields = value instanceof Error ? ["message", "stack"] : [];
  // Own enumerable fields (an SDK's `command`, a kept answer) and the cause.
  fields.push(...Object.keys(value), "cause");
  for (const field of fields) {
    const inner = (value as Record<string, unknown>)[field];
    if (inner === undefined) continue;
    const clean = scrub(inner, token, depth + 1, seen);
    // A frozen object that cannot be cleaned is dropped rather than leaked.
    if (clean !== inner && !rewrite(value, field, clean)) return REDACTED;
  }
  return value;
}

function rewrite(target: object, field: string, value: unknown): boolean {
  try {
    Object.defineProperty(target, field, { value, writable: true, configurable: true });
    return true;
  } catch {
    return false;
  }
}
