import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, test } from "vitest";
import { DEV_TOKEN } from "../../service/env.js";
import { freePort, waitForPort } from "../support/ports.js";

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
  await waitForPort(port, 60_000);
  return child;
}

/** Stop the script, wrangler and workerd together: signal the whole process group. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(-child.pid, "SIGTERM");
  const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
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
