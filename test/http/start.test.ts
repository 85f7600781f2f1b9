import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, test } from "vitest";
import { DEV_TOKEN } from "../../service/env.js";
import { freePort } from "../support/ports.js";
import { stopChild } from "../support/processes.js";
import { departingPost, sleep } from "./helpers.js";

const SCRIPT = fileURLToPath(new URL("../../scripts/start.mjs", import.meta.url));
const stateDir = mkdtempSync(join(tmpdir(), "edgelock-start-"));
let running: ChildProcess | undefined;
let output = "";

/** `npm start` as a user runs it (no tokens configured), on a free port, in its own process group. */
async function start(port: number): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), EDGELOCK_STATE_DIR: stateDir };
  delete env.EDGELOCK_API_TOKENS;
  const child = spawn(process.execPath, [SCRIPT], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  running = child;
  // The ready line comes only once the service answers: the first request
  // right after it must succeed, with no retry.
  const ready = output.length;
  const deadline = Date.now() + 90_000;
  while (!output.slice(ready).includes("edgelock: serving on")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start never got ready:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  return child;
}

/** Stop the script, wrangler and workerd together: signal the whole process group. */
async function stop(child: ChildProcess): Promise<void> {
  await stopChild(child, { group: true, graceMs: 10_000 });
  running = undefined;
}

afterAll(async () => {
  if (running) await stop(running);
  rmSync(stateDir, { recursive: true, force: true });
});

const curl = async (port: number, method: string, path: string, body?: unknown) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${DEV_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
};

test("npm start serves the Worker on PORT with the dev token: take, inspect, release; state survives a restart", async () => {
  const port = await freePort();
  let child = await start(port);
  try {
    const taken = await curl(port, "POST", "/v1/locks/demo/acquire", { ttlMs: 60_000, owner: "readme" });
    expect(taken.status).toBe(200);
    expect(taken.json).toMatchObject({ key: "demo", fence: 1, ttlMs: 60_000 });
    const inspected = await curl(port, "GET", "/v1/locks/demo");
    expect(inspected.json).toEqual({
      key: "demo",
      held: true,
      fence: 1,
      expiresAt: taken.json.expiresAt,
      owner: "readme",
    });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    // Restart: the Durable Object's state is on disk.
    await stop(child);
    child = await start(port);
    expect(await curl(port, "GET", "/v1/locks/demo")).toMatchObject({ status: 200, json: { held: true, fence: 1 } });
    const released = await curl(port, "POST", "/v1/locks/demo/release", { token: taken.json.token });
    expect(released).toEqual({ status: 200, json: { released: true } });
    expect((await curl(port, "GET", "/v1/locks/demo")).json).toEqual({ key: "demo", held: false });
    const again = await curl(port, "POST", "/v1/locks/demo/acquire", { ttlMs: 1_000 });
    expect(again.json.fence).toBe(2);
  } catch (error) {
    throw new Error(`npm start output:\n${output.slice(-4_000)}`, { cause: error });
  } finally {
    await stop(child);
  }
}, 120_000);

/** POST a chunked body of `size` bytes (no Content-Length), as a streaming client sends it. */
function chunked(port: number, path: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path,
        headers: {
          authorization: `Bearer ${DEV_TOKEN}`,
          "content-type": "application/json",
          "transfer-encoding": "chunked",
        },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on("error", reject);
    for (let sent = 0; sent < size; sent += 1024) outgoing.write(Buffer.alloc(1024, 0x20));
    outgoing.end();
  });
}

test("npm start: after an oversized chunked body (413) the service keeps answering; a release withdraws a queued acquire", async () => {
  const port = await freePort();
  const child = await start(port);
  try {
    for (let i = 0; i < 3; i++) {
      expect(await chunked(port, "/v1/locks/big/acquire", 100 * 1024)).toBe(413);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
    }
    // Withdraw by token through wrangler dev and local workerd (issue: 500 internal_error, then granted).
    const holder = await curl(port, "POST", "/v1/locks/withdraw/acquire", { ttlMs: 10_000 });
    expect(holder.status).toBe(200);
    const t = "withdrawTokenForStart0";
    const waiting = curl(port, "POST", "/v1/locks/withdraw/acquire", { ttlMs: 20_000, waitMs: 20_000, token: t });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await curl(port, "POST", "/v1/locks/withdraw/release", { token: t })).toEqual({
      status: 409,
      json: { error: "not_held" },
    });
    expect((await waiting).status).toBe(409);
    expect((await curl(port, "POST", "/v1/locks/withdraw/release", { token: holder.json.token })).status).toBe(200);
    expect((await curl(port, "GET", "/v1/locks/withdraw")).json).toEqual({ key: "withdraw", held: false });
  } catch (error) {
    throw new Error(`npm start output:\n${output.slice(-4_000)}`, { cause: error });
  } finally {
    await stop(child);
  }
}, 120_000);

test("npm start: a waiter whose client disconnected is never granted; the next live waiter is", async () => {
  const port = await freePort();
  const child = await start(port);
  try {
    const holder = await curl(port, "POST", "/v1/locks/departed/acquire", { ttlMs: 30_000 });
    expect(holder.status).toBe(200);
    const gone = "departedWaiterToken000";
    const left = departingPost(
      port,
      "/v1/locks/departed/acquire",
      DEV_TOKEN,
      { ttlMs: 30_000, waitMs: 20_000, token: gone, owner: "departed" },
      500,
    );
    await sleep(200);
    // Queued after the departing waiter: FIFO, so it is granted only if that one was withdrawn.
    const live = curl(port, "POST", "/v1/locks/departed/acquire", { ttlMs: 30_000, waitMs: 20_000, owner: "live" });
    expect(await left).toBe("");
    // The departure is reported in well under a second; a loaded machine gets ample room.
    await sleep(3_000);
    expect((await curl(port, "POST", "/v1/locks/departed/release", { token: holder.json.token })).status).toBe(200);
    const granted = await live;
    expect(granted.status).toBe(200);
    expect((await curl(port, "GET", "/v1/locks/departed")).json).toMatchObject({ held: true, owner: "live" });
    // The departed token never holds the key: its release finds nothing.
    expect((await curl(port, "POST", "/v1/locks/departed/release", { token: gone })).status).toBe(409);
  } catch (error) {
    throw new Error(`npm start output:\n${output.slice(-4_000)}`, { cause: error });
  } finally {
    await stop(child);
  }
}, 120_000);
