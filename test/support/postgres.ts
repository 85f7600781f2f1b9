/**
 * TEST FIXTURE, not part of the product: a real PostgreSQL 15 server owned by
 * a test run. `initdb` into a temporary folder, `pg_ctl start` on a free
 * loopback port, `pg_ctl stop` and removal afterwards; no system service.
 *
 * `initdb` refuses to run as root, so when the tests run as root the server
 * runs as the `postgres` user (Debian's package creates it) on a folder
 * chowned to it.
 *
 * Node-only, like every test support file.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, waitForPort } from "./ports.js";

const run = promisify(execFile);

/** A running PostgreSQL server. */
export interface PostgresServer {
  readonly port: number;
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (trust authentication on loopback). */
  readonly connectionString: string;
  /** Stop the server and remove its folder. Idempotent. */
  stop(): Promise<void>;
}

/** Where Debian's `postgresql` package puts the server binaries; `PG_BIN` overrides. */
export function postgresBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  for (const version of ["17", "16", "15"]) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (existsSync(join(dir, "initdb"))) return dir;
  }
  throw new Error("PostgreSQL server binaries not found: install Debian's postgresql package or set PG_BIN");
}

/** uid and gid to run the server as: ourselves, or `postgres` when we are root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (!uid || !gid) throw new Error("running as root and there is no postgres user to run PostgreSQL as");
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Start a throwaway PostgreSQL server on a free loopback port.
 *
 * @example
 * ```ts
 * const server = await startPostgres();
 * afterAll(() => server.stop());
 * ```
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin();
  const user = serverUser();
  const root = await mkdtemp(join(tmpdir(), "edgelock-pg-"));
  const data = join(root, "data");
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  const env = { ...process.env, LC_ALL: "C", LANG: "C" };
  let started = false;
  const stop = async () => {
    if (started) {
      started = false;
      await run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], { ...as, env }).catch(() => {});
    }
    await rm(root, { recursive: true, force: true });
  };
  try {
    await mkdir(data);
    if (user) {
      await chown(root, user.uid, user.gid);
      await chown(data, user.uid, user.gid);
    }
    await run(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"], {
      ...as,
      env,
      cwd: root,
    });
    const port = await freePort();
    // A test server: durability off, small buffers, loopback only, the socket in our own folder.
    const options = [
      `-p ${port}`,
      `-k ${root}`,
      "-c listen_addresses=127.0.0.1",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c shared_buffers=16MB",
      "-c max_connections=200",
    ].join(" ");
    started = true;
    await run(join(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", join(root, "log"), "-w", "-t", "60", "start"], {
      ...as,
      env,
      cwd: root,
    });
    await waitForPort(port);
    let stopping: Promise<void> | undefined;
    return {
      port,
      connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres`,
      stop: () => {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (error) {
    const log = existsSync(join(root, "log")) ? readFileSync(join(root, "log"), "utf8").slice(-2000) : "";
    await stop();
    throw new Error(`could not start PostgreSQL: ${String(error)}\n${log}`, { cause: error });
  }
}
