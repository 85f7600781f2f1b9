import { spawn } from "node:child_process";
import { freePort, waitForPort } from "./ports.js";
import { stopChild } from "./processes.js";

/** A real `redis-server` owned by a test run. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, for ioredis and redis-cli. */
  readonly url: string;
  /** Process id of `redis-server`, to pause it (`SIGSTOP`) in fault tests. */
  readonly pid: number;
  /** Stop the server and wait for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start `redis-server` on a free loopback port with no persistence, and
 * resolve once it accepts connections.
 *
 * @example
 * ```ts
 * const server = await startRedisServer();
 * const redis = new Redis(server.url);
 * afterAll(() => server.stop());
 * ```
 */
export async function startRedisServer(binary = process.env.REDIS_SERVER ?? "redis-server"): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (error) => reject(new Error(`could not start ${binary}: ${error.message}`, { cause: error })));
    child.once("exit", (code, signal) =>
      reject(new Error(`${binary} exited early (code ${code}, signal ${signal}): ${stderr.trim()}`)),
    );
  });
  failed.catch(() => {});
  try {
    await Promise.race([waitForPort(port, 10_000), failed]);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { port, url: `redis://127.0.0.1:${port}`, pid: child.pid ?? 0, stop: () => stopChild(child) };
}
