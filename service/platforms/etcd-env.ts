import { etcdAdapter } from "../../adapters/etcd/index.js";
import { InvalidArgumentError } from "../../src/errors.js";
import type { LockAdapter } from "../../src/types.js";
import { EDGELOCK_ETCD_ENDPOINT, EDGELOCK_ETCD_PASSWORD, EDGELOCK_ETCD_USERNAME } from "../env.js";
import type { ServiceEnv } from "../options-from-env.js";
import { required } from "./backend-env.js";

/**
 * The etcd adapter from `EDGELOCK_ETCD_ENDPOINT` (required), with token auth
 * when `EDGELOCK_ETCD_USERNAME` and `EDGELOCK_ETCD_PASSWORD` are both set.
 *
 * @example
 * ```ts
 * const adapter = etcdFromEnv(process.env);
 * ```
 */
export function etcdFromEnv(env: ServiceEnv): LockAdapter {
  const endpoint = required(env, EDGELOCK_ETCD_ENDPOINT, "for the etcd backend");
  const username = env[EDGELOCK_ETCD_USERNAME];
  const password = env[EDGELOCK_ETCD_PASSWORD];
  const hasUser = typeof username === "string" && username !== "";
  const hasPassword = typeof password === "string" && password !== "";
  if (hasUser !== hasPassword) {
    throw new InvalidArgumentError(`${EDGELOCK_ETCD_USERNAME} and ${EDGELOCK_ETCD_PASSWORD} go together`);
  }
  return etcdAdapter({ endpoint, ...(hasUser && hasPassword ? { username, password } : {}) });
}
