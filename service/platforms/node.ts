/**
 * Node entry point: the lock service on `@hono/node-server`, over the
 * backend `EDGELOCK_BACKEND` names. Run `node dist/service/platforms/node.js`
 * after `npm run build`; every setting comes from the environment (see
 * `docs/http.md`).
 *
 * @module
 */
import { pathToFileURL } from "node:url";
import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";
import { memoryAdapter } from "../../adapters/memory/index.js";
import { InvalidArgumentError } from "../../src/errors.js";
import type { LockAdapter } from "../../src/types.js";
import { createLockService } from "../app.js";
import { EDGELOCK_BACKEND, EDGELOCK_HOST, PORT, UPSTASH_REDIS_REST_TOKEN, UPSTASH_REDIS_REST_URL } from "../env.js";
import { serviceOptionsFromEnv } from "../options-from-env.js";
import { required } from "./backend-env.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The backends the Node entry can serve. */
export const NODE_BACKENDS = ["memory", "upstash", "dynamodb", "azure-blob"] as const;

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
    default:
      throw new InvalidArgumentError(
        `${EDGELOCK_BACKEND} must be one of ${NODE_BACKENDS.join(", ")}, got "${backend}"`,
      );
  }
}

/** A running Node server. */
export interface NodeService {
  readonly url: string;
  readonly port: number;
  readonly server: ServerType;
  close(): Promise<void>;
}

/**
 * Serve `app` on `hostname:port` (port 0: any free one) and resolve once it listens.
 *
 * @example
 * ```ts
 * const service = await listen(createLockService({ adapter: memoryAdapter(), tokens: "change-me-0001" }), { port: 8787 });
 * ```
 */
export function listen(app: Hono, options: { port: number; hostname?: string }): Promise<NodeService> {
  const hostname = options.hostname ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port, hostname }, (info) => {
      const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        server,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // Keep-alive connections would hold close() open until they idle out.
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once("error", reject);
  });
}

/** Configure everything from `env` and serve. */
export async function startFromEnv(env: Env = process.env): Promise<NodeService> {
  const port = Number(env[PORT] ?? "8787");
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError(`${PORT} must be a port number`);
  const app = createLockService(serviceOptionsFromEnv(env, await adapterFromEnv(env)));
  return listen(app, { port, hostname: env[EDGELOCK_HOST] ?? "127.0.0.1" });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const service = await startFromEnv();
  console.log(`edgelock service listening on ${service.url}`);
  const stop = () => void service.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
