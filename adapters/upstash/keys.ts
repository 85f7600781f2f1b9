import { InvalidArgumentError } from "../../src/errors.js";
import { validateNamespace } from "../../src/validate.js";

/** Default prefix of every Redis key the adapter writes. */
export const DEFAULT_PREFIX = "edgelock:";

/** The Redis keys behind one lock. */
export interface LockKeys {
  /** Hash holding token, fence and owner; expires with the lock. */
  readonly lock: string;
  /** Fence counter; never expires. */
  readonly fence: string;
  /** Wake-up list: a release pushes onto it, a waiter's `BLPOP` pops; expires within a second. */
  readonly wake: string;
  /** Guarded value hash (version, writer's fence, last write id, data); never expires. */
  readonly value: string;
}

/** Check a user's `prefix` option. */
export function validatePrefix(prefix: unknown): string {
  let checked: string;
  try {
    checked = validateNamespace(prefix);
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^namespace/, "prefix") : String(error);
    throw new InvalidArgumentError(message, { cause: error });
  }
  // Braces would move or empty the hash tag, splitting a lock from its fence
  // counter across Redis Cluster slots.
  if (/[{}]/.test(checked)) {
    throw new InvalidArgumentError(`prefix must not contain "{" or "}", got ${JSON.stringify(checked)}`);
  }
  return checked;
}

/**
 * `<prefix>{<key>}:lock` and `<prefix>{<key>}:fence`. The hash tag puts both
 * in one Cluster slot, as a script touching both requires. `%` and `}` in the
 * key are percent-encoded so the tag always ends where the key does and two
 * keys never map to the same names; the `:lock`/`:fence` suffixes keep the
 * two apart, and the prefix keeps them apart from other data.
 */
export function lockKeys(prefix: string, key: string): LockKeys {
  const tag = key.replaceAll("%", "%25").replaceAll("}", "%7D");
  return {
    lock: `${prefix}{${tag}}:lock`,
    fence: `${prefix}{${tag}}:fence`,
    wake: `${prefix}{${tag}}:wake`,
    value: `${prefix}{${tag}}:value`,
  };
}
