/**
 * TEST FIXTURE, not part of the product: a small endpoint that speaks the
 * Upstash Redis REST protocol, as `@upstash/redis` uses it, in front of a
 * real `redis-server`. Every command runs in that real Redis (Lua included);
 * the fixture only translates HTTP+JSON to RESP and back.
 *
 * Protocol spoken (what `@upstash/redis` 1.x sends and expects):
 * - always `POST`; `Authorization: Bearer <token>`, else 401 `{"error": …}`;
 * - `/` takes one command as a JSON array (`["set","k","v","px",5000]`);
 *   `/pipeline` an array of commands, run in order, not atomically;
 *   `/multi-exec` an array of commands run in a MULTI/EXEC transaction;
 * - success: 200 `{"result": …}` (`null` for nil, never missing); a failed
 *   single command: 400 `{"error": "<Redis error>"}` (e.g. `NOSCRIPT …`);
 *   a pipeline or transaction: 200 `[{"result": …} | {"error": …}, …]`;
 * - with `Upstash-Encoding: base64`, every string in a result is base64,
 *   nested arrays included; integers and null as they are.
 *
 * Node-only, like every test support file.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { type RedisServer, startRedisServer } from "./redis-server.js";

/** A running Upstash-compatible endpoint and the real Redis behind it. */
export interface UpstashFixture {
  /** Base URL, `http://127.0.0.1:<port>`: pass it as `url` to `@upstash/redis`. */
  readonly url: string;
  /** The bearer token the endpoint accepts. */
  readonly token: string;
  /** A direct connection to the Redis behind the endpoint, for assertions and setup. */
  readonly redis: Redis;
  /** Process id of the `redis-server` behind the endpoint (to `SIGSTOP` it). */
  readonly redisPid: number;
  /** HTTP requests the endpoint has answered, whatever their outcome. */
  readonly requests: () => number;
  /** Stop the endpoint, the connection and `redis-server`. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start `redis-server` and an Upstash REST endpoint in front of it, both on
 * free loopback ports.
 *
 * @example
 * ```ts
 * const upstash = await startUpstash();
 * const client = new Redis({ url: upstash.url, token: upstash.token }); // @upstash/redis
 * afterAll(() => upstash.stop());
 * ```
 */
export async function startUpstash(options: { token?: string } = {}): Promise<UpstashFixture> {
  const token = options.token ?? randomBytes(16).toString("hex");
  const server: RedisServer = await startRedisServer();
  const redis = new Redis(server.port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 1 });
  let http: ReturnType<typeof createServer> | undefined;
  try {
    await redis.connect();
    let answered = 0;
    http = createServer((req, res) => {
      handle(req, res, redis, token)
        .catch((error: unknown) => reply(res, 500, { error: `fixture failure: ${String(error)}` }))
        .finally(() => answered++);
    });
    const listening = http;
    await new Promise<void>((resolve, reject) => {
      listening.once("error", reject);
      listening.listen(0, "127.0.0.1", resolve);
    });
    const { port } = listening.address() as AddressInfo;
    let stopping: Promise<void> | undefined;
    return {
      url: `http://127.0.0.1:${port}`,
      token,
      redis,
      redisPid: server.pid,
      requests: () => answered,
      stop: () => {
        stopping ??= (async () => {
          listening.closeAllConnections();
          await new Promise<void>((resolve) => listening.close(() => resolve()));
          redis.disconnect();
          await server.stop();
        })();
        return stopping;
      },
    };
  } catch (error) {
    http?.close();
    redis.disconnect();
    await server.stop();
    throw error;
  }
}

type Entry = { result: unknown } | { error: string };

async function handle(req: IncomingMessage, res: ServerResponse, redis: Redis, token: string): Promise<void> {
  const body = await readBody(req);
  if (req.method !== "POST") return reply(res, 405, { error: `method ${req.method} not allowed` });
  if (req.headers.authorization !== `Bearer ${token}`) return reply(res, 401, { error: "Unauthorized" });
  const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return reply(res, 400, { error: "ERR failed to parse request body as JSON" });
  }
  const path = new URL(req.url ?? "/", "http://fixture").pathname;
  if (path === "/") {
    if (!isCommand(parsed)) return reply(res, 400, { error: "ERR a command is a non-empty JSON array" });
    const [entry] = await run(redis.pipeline(), [parsed], base64);
    if (!entry) throw new Error("no answer for the command");
    return "error" in entry ? reply(res, 400, entry) : reply(res, 200, entry);
  }
  if (path === "/pipeline" || path === "/multi-exec") {
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every(isCommand)) {
      return reply(res, 400, { error: "ERR a pipeline is a non-empty JSON array of commands" });
    }
    if (path === "/pipeline") return reply(res, 200, await run(redis.pipeline(), parsed, base64));
    try {
      return reply(res, 200, await run(redis.multi(), parsed, base64));
    } catch (error) {
      // A command refused while queuing aborts the whole transaction (EXECABORT).
      return reply(res, 400, { error: errorText(error) });
    }
  }
  return reply(res, 404, { error: `ERR unknown path ${path}` });
}

type Batch = ReturnType<Redis["pipeline"]>;

/** Run commands in one ioredis pipeline or transaction; raw replies as Buffers, so base64 is exact. */
async function run(batch: Batch, commands: unknown[][], base64: boolean): Promise<Entry[]> {
  for (const [name, ...args] of commands) batch.callBuffer(String(name), args.map(toArgument));
  const results = await batch.exec();
  if (!results) throw new Error("transaction discarded");
  return results.map(([error, value]) =>
    error ? { error: errorText(error) } : { result: encode(value, base64) ?? null },
  );
}

function isCommand(value: unknown): value is unknown[] {
  return Array.isArray(value) && value.length > 0 && typeof value[0] === "string";
}

/** JSON numbers, booleans and objects become the strings Redis would receive from a real client. */
function toArgument(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function encode(value: unknown, base64: boolean): unknown {
  if (Buffer.isBuffer(value)) return value.toString(base64 ? "base64" : "utf8");
  if (typeof value === "string") return base64 ? Buffer.from(value).toString("base64") : value;
  if (Array.isArray(value)) return value.map((item) => encode(item, base64) ?? null);
  if (value instanceof Error) return encode(errorText(value), base64);
  return value;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
