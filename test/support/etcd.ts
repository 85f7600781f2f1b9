import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { stopChild } from "./processes.js";

/** A real single-member etcd owned by a test run. */
export interface EtcdServer {
  /** Client URL, `http://127.0.0.1:<port>`: the v3 JSON gateway is served there. */
  readonly url: string;
  /**
   * Create the `root` user with `password`, grant it the root role and
   * enable auth, all through the gateway. From then on every request needs a
   * token (see {@link rootToken}).
   */
  enableAuth(password: string): Promise<void>;
  /**
   * Add a user whose role may read and write only the keys under `prefix`
   * (after {@link enableAuth}, as root).
   */
  addPrefixUser(rootPassword: string, user: { name: string; password: string; prefix: string }): Promise<void>;
  /** A fresh auth token for `root` (after {@link enableAuth}). */
  rootToken(password: string): Promise<string>;
  /** Stop the server, wait for it to exit and delete its data. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start Debian's `etcd` on free loopback client and peer ports with a
 * temporary data directory, and resolve once it answers on the gateway.
 *
 * @example
 * ```ts
 * const etcd = await startEtcd();
 * const adapter = etcdAdapter({ endpoint: etcd.url });
 * afterAll(() => etcd.stop());
 * ```
 */
export async function startEtcd(
  options: {
    /** Seconds an idle auth token stays valid (`--auth-token-ttl`, etcd's default 300). */
    authTokenTtlSeconds?: number;
    /**
     * Issue JWT auth tokens (RS256, a key pair made for this member) instead
     * of etcd's default simple tokens. A JWT names the auth revision it was
     * issued at, so etcd refuses it once users or roles change.
     */
    jwt?: boolean;
  } = {},
  binary = process.env.ETCD ?? "etcd",
): Promise<EtcdServer> {
  // On tmpfs where there is one: etcd fsyncs every commit, and the other test
  // backends run in memory too (a disk's fsync only measures the disk).
  const dir = await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "edgelock-etcd-"));
  const jwt: string[] = [];
  if (options.jwt) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    await writeFile(join(dir, "jwt.key"), privateKey.export({ type: "pkcs1", format: "pem" }));
    await writeFile(join(dir, "jwt.pub"), publicKey.export({ type: "spki", format: "pem" }));
    const keys = `pub-key=${join(dir, "jwt.pub")},priv-key=${join(dir, "jwt.key")}`;
    jwt.push("--auth-token", `jwt,${keys},sign-method=RS256,ttl=10m`);
  }
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    binary,
    [
      "--name",
      "edgelock-test",
      "--data-dir",
      join(dir, "data"),
      "--listen-client-urls",
      url,
      "--advertise-client-urls",
      url,
      "--listen-peer-urls",
      peer,
      "--initial-advertise-peer-urls",
      peer,
      "--initial-cluster",
      `edgelock-test=${peer}`,
      "--log-level",
      "error",
      ...jwt,
      ...(options.authTokenTtlSeconds === undefined ? [] : ["--auth-token-ttl", String(options.authTokenTtlSeconds)]),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (error) => reject(new Error(`could not start ${binary}: ${error.message}`, { cause: error })));
    child.once("exit", (code, signal) =>
      reject(new Error(`${binary} exited early (code ${code}, signal ${signal}): ${stderr.trim()}`)),
    );
  });
  failed.catch(() => {});
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([waitForGateway(url, 30_000), failed]);
  } catch (error) {
    await stop();
    throw error;
  }
  const post = async (path: string, body: unknown, token?: string) => {
    const response = await fetch(`${url}${path}`, {
      method: "POST",
      headers: token ? { authorization: token } : {},
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`etcd ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  return {
    url,
    async enableAuth(password) {
      await post("/v3/auth/user/add", { name: "root", password });
      await post("/v3/auth/user/grant", { user: "root", role: "root" });
      await post("/v3/auth/enable", {});
    },
    async addPrefixUser(rootPassword, { name, password, prefix }) {
      const root = String((await post("/v3/auth/authenticate", { name: "root", password: rootPassword })).token);
      const key = Buffer.from(prefix);
      // The range [prefix, prefix with its last byte + 1): every key that starts with it.
      const end = Buffer.from(key);
      end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
      await post("/v3/auth/role/add", { name }, root);
      await post(
        "/v3/auth/role/grant",
        { name, perm: { permType: "READWRITE", key: key.toString("base64"), range_end: end.toString("base64") } },
        root,
      );
      await post("/v3/auth/user/add", { name, password }, root);
      await post("/v3/auth/user/grant", { user: name, role: name }, root);
    },
    async rootToken(password) {
      return String((await post("/v3/auth/authenticate", { name: "root", password })).token);
    },
    stop,
  };
}

/** Until the member has a leader and serves writes: a lease grant succeeds. */
async function waitForGateway(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`${url}/v3/lease/grant`, {
        method: "POST",
        body: JSON.stringify({ TTL: "1" }),
        signal: AbortSignal.timeout(2_000),
      });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`etcd at ${url} not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
