#!/usr/bin/env node
// `npm start`: the lock service as the real Worker with its Durable Object,
// in local workerd through `wrangler dev` (offline), state kept on disk under
// .wrangler/state across restarts. A small Node front (dev-front.mjs) serves
// PORT and forwards to wrangler dev on a private loopback port, so that the
// Worker learns when a waiting client disconnects (local workerd cannot).
//
// Environment: PORT (default 8787), EDGELOCK_API_TOKENS (default the dev
// token "dev-token", unless .dev.vars sets it), EDGELOCK_MAX_WAIT_MS,
// EDGELOCK_MAX_KEY_BYTES, EDGELOCK_BACKEND_TIMEOUT_MS, EDGELOCK_MAX_WAITERS and
// EDGELOCK_MAX_WAITERS_PER_TENANT (passed through when set), EDGELOCK_STATE_DIR
// (default .wrangler/state), EDGELOCK_HOST (default 127.0.0.1).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startDevFront } from "./dev-front.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEV_TOKEN = "dev-token";

const port = process.env.PORT || "8787";
const host = process.env.EDGELOCK_HOST || "127.0.0.1";
const stateDir = process.env.EDGELOCK_STATE_DIR || join(root, ".wrangler", "state");

const vars = [];
const devVars = join(root, ".dev.vars");
const devVarsSetsTokens = existsSync(devVars) && /^\s*EDGELOCK_API_TOKENS\s*=/m.test(readFileSync(devVars, "utf8"));
if (process.env.EDGELOCK_API_TOKENS) vars.push(`EDGELOCK_API_TOKENS:${process.env.EDGELOCK_API_TOKENS}`);
else if (!devVarsSetsTokens) vars.push(`EDGELOCK_API_TOKENS:${DEV_TOKEN}`);
for (const name of [
  "EDGELOCK_MAX_WAIT_MS",
  "EDGELOCK_MAX_KEY_BYTES",
  "EDGELOCK_BACKEND_TIMEOUT_MS",
  "EDGELOCK_MAX_WAITERS",
  "EDGELOCK_MAX_WAITERS_PER_TENANT",
]) {
  if (process.env[name]) vars.push(`${name}:${process.env[name]}`);
}

// Only the front, in this process, knows it: the Worker trusts the front's headers with it alone.
const frontSecret = randomBytes(24).toString("base64url");
vars.push(`EDGELOCK_DEV_FRONT_SECRET:${frontSecret}`);

/** Any free loopback port. */
const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
// wrangler's inspector defaults to 9229, which another dev server or a
// debugger may hold: take any free loopback port instead.
const inspectorPort = await freePort();
const workerPort = await freePort();

const args = [
  "dev",
  "--local",
  "--config",
  join(root, "wrangler.toml"),
  "--ip",
  "127.0.0.1",
  "--port",
  String(workerPort),
  "--inspector-port",
  String(inspectorPort),
  "--persist-to",
  stateDir,
  "--show-interactive-dev-session=false",
  ...vars.flatMap((entry) => ["--var", entry]),
];

if (!process.env.EDGELOCK_API_TOKENS && !devVarsSetsTokens) {
  console.log(`edgelock: dev token "${DEV_TOKEN}" (set EDGELOCK_API_TOKENS to choose your own)`);
}

let front;
try {
  front = await startDevFront({ host, port: Number(port), upstreamPort: workerPort, secret: frontSecret });
} catch (error) {
  console.error(`edgelock: cannot listen on ${host}:${port}:`, error.message);
  process.exit(1);
}

// wrangler's own binary, not npx: no wrapper process left behind to stop.
const wrangler = join(root, "node_modules", ".bin", process.platform === "win32" ? "wrangler.cmd" : "wrangler");
const child = spawn(wrangler, args, {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  front.close();
  process.exit(code ?? (signal ? 128 : 1));
});
child.on("error", (error) => {
  console.error(`edgelock: could not run ${wrangler}:`, error.message);
  process.exit(1);
});

// The ready line only once the service answers: wrangler opens its port
// before workerd can serve, and a script or a user acting on the line then
// met refused or failed requests.
const probeHost = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
const READY_WITHIN_MS = 180_000;
const deadline = Date.now() + READY_WITHIN_MS;
for (;;) {
  if (child.exitCode !== null || child.signalCode !== null) break;
  try {
    const response = await fetch(`http://${probeHost}:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    if (response.status === 200) {
      console.log(`edgelock: serving on http://${host}:${port}, state in ${stateDir}`);
      break;
    }
  } catch {
    // Not listening or not serving yet.
  }
  if (Date.now() > deadline) {
    console.error(`edgelock: the service did not answer /healthz within ${READY_WITHIN_MS / 1000} s; stopping`);
    child.kill("SIGTERM");
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}
