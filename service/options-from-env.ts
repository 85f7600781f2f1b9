import { InvalidArgumentError } from "../src/errors.js";
import type { LockAdapter } from "../src/types.js";
import {
  EDGELOCK_API_TOKENS,
  EDGELOCK_BACKEND_TIMEOUT_MS,
  EDGELOCK_BASE_PATH,
  EDGELOCK_MAX_KEY_BYTES,
  EDGELOCK_MAX_WAIT_MS,
  EDGELOCK_MAX_WAITERS,
  EDGELOCK_MAX_WAITERS_PER_TENANT,
} from "./env.js";
import type { LockServiceOptions } from "./options.js";

/** Environment variables as every platform exposes them: strings or absent. */
export type ServiceEnv = Readonly<Record<string, unknown>>;

/**
 * Service options from environment variables (`process.env`, a Worker's
 * `env`), shared by every platform entry so they all read the same names
 * the same way.
 *
 * @example
 * ```ts
 * const app = createLockService(serviceOptionsFromEnv(env, durableObjectAdapter({ namespace: env.LOCKS })));
 * ```
 */
export function serviceOptionsFromEnv(env: ServiceEnv, adapter: LockAdapter): LockServiceOptions {
  const maxWaitMs = integer(env, EDGELOCK_MAX_WAIT_MS);
  const maxKeyBytes = integer(env, EDGELOCK_MAX_KEY_BYTES);
  const backendTimeoutMs = integer(env, EDGELOCK_BACKEND_TIMEOUT_MS);
  const maxWaiters = integer(env, EDGELOCK_MAX_WAITERS);
  const maxWaitersPerTenant = integer(env, EDGELOCK_MAX_WAITERS_PER_TENANT);
  return {
    adapter,
    tokens: text(env, EDGELOCK_API_TOKENS),
    basePath: text(env, EDGELOCK_BASE_PATH) ?? "",
    ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
    ...(maxKeyBytes === undefined ? {} : { maxKeyBytes }),
    ...(backendTimeoutMs === undefined ? {} : { backendTimeoutMs }),
    ...(maxWaiters === undefined ? {} : { maxWaiters }),
    ...(maxWaitersPerTenant === undefined ? {} : { maxWaitersPerTenant }),
  };
}

function text(env: ServiceEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new InvalidArgumentError(`${name} must be a string`);
  return value;
}

function integer(env: ServiceEnv, name: string): number | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number`);
  return Number(value);
}
