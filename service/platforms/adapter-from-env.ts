/**
 * The backend `EDGELOCK_BACKEND` names, from the environment: shared by the
 * service's Node entry and the `edgelock` command line. Its own module, so
 * that importing it never starts a server.
 *
 * @module
 */
import { memoryAdapter } from "../../adapters/memory/index.js";
import { InvalidArgumentError } from "../../src/errors.js";
import type { LockAdapter } from "../../src/types.js";
import { EDGELOCK_BACKEND, UPSTASH_REDIS_REST_TOKEN, UPSTASH_REDIS_REST_URL } from "../env.js";
import { required } from "./backend-env.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The backends the Node entry can serve. */
export const NODE_BACKENDS = ["memory", "upstash", "dynamodb", "azure-blob", "postgres", "etcd"] as const;

/**
 * The adapter `EDGELOCK_BACKEND` names, configured from the environment.
 * Backend modules are loaded only when chosen, so their SDKs are optional.
 */
export async function adapterFromEnv(env: Env): Promise<LockAdapter> {
  const backend = env[EDGELOCK_BACKEND] ?? "memory";
  switch (backend) {
    case "memory":
      return memoryAdapter();
    case "upstash": {
      const { upstashAdapter } = await import("../../adapters/upstash/index.js");
      return upstashAdapter({
        url: required(env, UPSTASH_REDIS_REST_URL, "for the upstash backend"),
        token: required(env, UPSTASH_REDIS_REST_TOKEN, "for the upstash backend"),
      });
    }
    case "dynamodb":
      return (await import("./dynamodb-env.js")).dynamodbFromEnv(env);
    case "azure-blob":
      return (await import("./azure-blob-env.js")).azureBlobFromEnv(env);
    case "postgres":
      return (await import("./postgres-env.js")).postgresFromEnv(env);
    case "etcd":
      return (await import("./etcd-env.js")).etcdFromEnv(env);
    default:
      throw new InvalidArgumentError(
        `${EDGELOCK_BACKEND} must be one of ${NODE_BACKENDS.join(", ")}, got "${backend}"`,
      );
  }
}
