import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLockService } from "../../service/app.js";
import { listen, type NodeService, startFromEnv } from "../../service/platforms/node.js";
import { newToken } from "../../src/index.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

// Every backend call the service makes has a time limit (here 1 s): past it
// the answer is 503 backend_unavailable with Retry-After, and a waiting
// acquire ends by its wait plus one limit. The bounds asserted leave room
// for a loaded machine; without the limit these requests hang for as long
// as the backend does.
const TOKEN = "backend-faults-token-1";
const LIMIT_MS = 1_000;
const SLACK_MS = 2_500;

async function send(base: string, method: string, path: string, body?: unknown) {
  const started = Date.now();
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await response.json()) as Record<string, unknown>;
  return { status: response.status, json, retryAfter: response.headers.get("retry-after"), ms: Date.now() - started };
}

function expectUnavailable(answer: Awaited<ReturnType<typeof send>>, boundMs: number): void {
  console.info(`503 after ${answer.ms} ms (bound ${boundMs} ms)`);
  expect(answer.status).toBe(503);
  expect(answer.json).toEqual({ error: "backend_unavailable" });
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(answer.ms).toBeLessThan(boundMs);
}

describe("Node entry over Upstash REST with redis-server paused (SIGSTOP)", () => {
  let upstash: UpstashFixture;
  let service: NodeService;
  beforeAll(async () => {
    upstash = await startUpstash();
    service = await startFromEnv({
      EDGELOCK_BACKEND: "upstash",
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      EDGELOCK_API_TOKENS: TOKEN,
      EDGELOCK_BACKEND_TIMEOUT_MS: String(LIMIT_MS),
      PORT: "0",
    });
  }, 60_000);
  afterAll(async () => {
    process.kill(upstash.redisPid, "SIGCONT");
    await service?.close();
    await upstash?.stop();
  });

  test("inspect and acquire answer 503 within the limit; a waiting acquire ends by waitMs plus one limit", async () => {
    const key = `paused-${newToken()}`;
    expect((await send(service.url, "POST", `/v1/locks/${key}/acquire`, { ttlMs: 30_000 })).status).toBe(200);
    const waiting = send(service.url, "POST", `/v1/locks/${key}/acquire`, { ttlMs: 1_000, waitMs: 1_500 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(upstash.redisPid, "SIGSTOP");
    try {
      expectUnavailable(await waiting, 1_500 + LIMIT_MS + SLACK_MS);
      expectUnavailable(await send(service.url, "GET", `/v1/locks/${key}`), LIMIT_MS + SLACK_MS);
      expectUnavailable(
        await send(service.url, "POST", `/v1/locks/other-${key}/acquire`, { ttlMs: 1_000 }),
        LIMIT_MS + SLACK_MS,
      );
    } finally {
      process.kill(upstash.redisPid, "SIGCONT");
    }
    expect((await send(service.url, "GET", `/v1/locks/${key}`)).status).toBe(200);
  }, 60_000);
});

describe("a backend that sends its headers, then drips the body", () => {
  let backend: Server;
  let service: NodeService;
  beforeAll(async () => {
    backend = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"result":');
      const drip = setInterval(() => res.write(" "), 100);
      res.on("close", () => clearInterval(drip));
    });
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
    const adapter = upstashAdapter({ url, token: "drip-token" });
    service = await listen(createLockService({ adapter, tokens: TOKEN, backendTimeoutMs: LIMIT_MS }), { port: 0 });
  });
  afterAll(async () => {
    await service?.close();
    backend.closeAllConnections();
    await new Promise((resolve) => backend.close(resolve));
  });

  test("acquire, waiting acquire and inspect answer 503 within the limit", async () => {
    const key = `drip-${newToken()}`;
    expectUnavailable(
      await send(service.url, "POST", `/v1/locks/${key}/acquire`, { ttlMs: 1_000 }),
      LIMIT_MS + SLACK_MS,
    );
    expectUnavailable(
      await send(service.url, "POST", `/v1/locks/${key}/acquire`, { ttlMs: 1_000, waitMs: 3_000 }),
      3_000 + LIMIT_MS + SLACK_MS,
    );
    expectUnavailable(await send(service.url, "GET", `/v1/locks/${key}`), LIMIT_MS + SLACK_MS);
  }, 60_000);
});
