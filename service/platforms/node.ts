/**
 * Node entry point: the lock service on `@hono/node-server`, over the
 * backend `EDGELOCK_BACKEND` names. Run `node dist/service/platforms/node.js`
 * after `npm run build`; every setting comes from the environment (see
 * `docs/http.md`).
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { pathToFileURL } from "node:url";
import { getRequestListener } from "@hono/node-server";
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
  readonly server: Server;
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
  // A request whose URL cannot be built (`GET *`, a malformed Host) never
  // reaches the app: answer it as the app would, in JSON.
  const listener = getRequestListener(app.fetch, {
    hostname,
    errorHandler: () => jsonError(400, "invalid_request", "the request line or Host header is malformed"),
  });
  const server = createServer(listener);
  // Requests Node's parser refuses (a backslash path, headers or URL over
  // 16 KiB): the same JSON shape, then the connection closes.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify(
      tooLarge
        ? { error: "headers_too_large", message: "the request line and headers exceed 16 KiB" }
        : { error: "invalid_request", message: "the request is not valid HTTP/1.1" },
    );
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
        "Content-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, hostname, () => {
      const info = server.address();
      if (info === null || typeof info === "string") return reject(new Error("the server has no TCP address"));
      const host = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        server,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // Keep-alive connections would hold close() open until they idle out.
            server.closeAllConnections();
          }),
      });
    });
  });
}

function jsonError(status: number, error: string, message: string): Response {
  return Response.json({ error, message }, { status, headers: { "Cache-Control": "no-store" } });
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
