/**
 * Which backend the command line talks to: a deployed lock service
 * (`--url`/`--token`, or `EDGELOCK_SERVICE_URL`/`EDGELOCK_SERVICE_TOKEN`),
 * else the backend `EDGELOCK_BACKEND` names, configured from the same
 * environment variables as the service's Node entry (read by its own code).
 *
 * @module
 */

import { httpAdapter } from "../adapters/http/index.js";
import { EDGELOCK_BACKEND } from "../service/env.js";
import { adapterFromEnv } from "../service/platforms/adapter-from-env.js";
import { InvalidArgumentError } from "../src/errors.js";
import type { LockAdapter } from "../src/types.js";

/** URL of a deployed lock service, when `--url` is not given. */
export const EDGELOCK_SERVICE_URL = "EDGELOCK_SERVICE_URL";
/** Bearer token for that service, when `--token` is not given (one of its `EDGELOCK_API_TOKENS`). */
export const EDGELOCK_SERVICE_TOKEN = "EDGELOCK_SERVICE_TOKEN";

export interface BackendChoice {
  readonly url?: string | undefined;
  readonly token?: string | undefined;
}

/** The adapter the flags and the environment name, or an {@link InvalidArgumentError} saying what is missing. */
export async function backendFrom(choice: BackendChoice, env: NodeJS.ProcessEnv): Promise<LockAdapter> {
  const url = choice.url ?? nonEmpty(env[EDGELOCK_SERVICE_URL]);
  if (url !== undefined) {
    const token = choice.token ?? nonEmpty(env[EDGELOCK_SERVICE_TOKEN]);
    if (token === undefined) {
      throw new InvalidArgumentError(`--url needs --token (or ${EDGELOCK_SERVICE_TOKEN})`);
    }
    // The service decides whether this token may break locks (EDGELOCK_ADMIN_TOKENS).
    return httpAdapter({ url, token, adminToken: token });
  }
  if (choice.token !== undefined) throw new InvalidArgumentError(`--token needs --url (or ${EDGELOCK_SERVICE_URL})`);
  const backend = nonEmpty(env[EDGELOCK_BACKEND]);
  // The memory backend lives inside one process: a lock nobody else can see
  // would protect nothing, so the command line refuses it.
  if (backend === undefined || backend === "memory") {
    throw new InvalidArgumentError(
      `no shared backend: pass --url and --token for a lock service, or set ${EDGELOCK_BACKEND} to upstash, dynamodb, azure-blob, postgres or etcd (see edgelock --help)`,
    );
  }
  return adapterFromEnv(env);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
