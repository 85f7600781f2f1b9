import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLockService } from "../../service/app.js";
import { listen, type NodeService } from "../../service/platforms/node.js";
import { createLocker, memoryAdapter } from "../../src/index.js";
import { freePort } from "../support/ports.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";
import { runCli } from "./spawn-cli.js";

let upstash: UpstashFixture;
let env: Record<string, string>;
let service: NodeService;
const SERVICE_TOKEN = "cli-test-service-token";
beforeAll(async () => {
  upstash = await startUpstash();
  env = { EDGELOCK_BACKEND: "upstash", UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token };
  service = await listen(createLockService({ adapter: memoryAdapter(), tokens: SERVICE_TOKEN }), { port: 0 });
}, 60_000);
afterAll(async () => {
  await service?.close();
  await upstash?.stop();
});

let counter = 0;
const key = (label: string) => `cli-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
const json = (text: string) => JSON.parse(text.trim()) as Record<string, unknown>;

describe("edgelock one-shot commands, as processes against Upstash REST over redis-server", () => {
  test("--help lists the commands, the backend variables and the exit codes", async () => {
    const { code, stdout } = await runCli(["--help"], {});
    expect(code).toBe(0);
    for (const word of ["run", "inspect", "acquire", "extend", "release", "break", "--json", "--url", "--token"]) {
      expect(stdout).toContain(word);
    }
    for (const name of [
      "EDGELOCK_BACKEND",
      "UPSTASH_REDIS_REST_URL",
      "EDGELOCK_DYNAMODB_TABLE",
      "EDGELOCK_AZURE_CONNECTION_STRING",
    ]) {
      expect(stdout).toContain(name);
    }
    expect(stdout).toMatch(/75\s+lock held/);
    for (const command of [
      "edgelock sem run <key> --limit N",
      "edgelock sem inspect <key>",
      "edgelock sem acquire <key> --limit N",
      "edgelock sem extend <key> --token",
      "edgelock sem release <key> --token",
      "edgelock elect run <key> [--id TEXT]",
      "edgelock elect leader <key>",
      "edgelock elect observe <key>",
    ]) {
      expect(stdout).toContain(command);
    }
    expect(stdout).toContain("EDGELOCK_TERM");
    expect((await runCli(["sem", "run", "--help"], {})).stdout).toBe(stdout);
    expect((await runCli([], {})).stdout).toBe(stdout);
  });

  test("acquire prints fence and token; inspect, extend, release and a second release answer as documented", async () => {
    const k = key("cycle");
    const acquired = await runCli(["acquire", k, "--ttl", "30s", "--owner", "nightly job", "--json"], env);
    expect(acquired.code).toBe(0);
    const lease = json(acquired.stdout);
    expect(lease).toMatchObject({ key: k, fence: expect.any(Number), ttlMs: 30_000 });
    expect(lease.token).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const inspected = await runCli(["inspect", k, "--json"], env);
    expect(inspected.code).toBe(0);
    expect(json(inspected.stdout)).toMatchObject({ key: k, held: true, fence: lease.fence, owner: "nightly job" });
    expect(inspected.stdout).not.toContain(String(lease.token));
    const human = await runCli(["inspect", k], env);
    expect(human.stdout).toMatch(
      new RegExp(`is held: fence ${lease.fence}, expires in \\d+(\\.\\d)?s .*owner "nightly job"`),
    );

    const held = await runCli(["acquire", k], env);
    expect(held.code).toBe(75);
    expect(held.stderr).toContain("held");

    const extended = await runCli(["extend", k, "--token", String(lease.token), "--ttl", "45s", "--json"], env);
    expect(extended.code).toBe(0);
    expect(json(extended.stdout)).toMatchObject({ fence: lease.fence, ttlMs: 45_000 });
    expect(await upstash.redis.pttl(`edgelock:{${k}}:lock`)).toBeGreaterThan(40_000);

    const released = await runCli(["release", k, "--token", String(lease.token)], env);
    expect(released.code).toBe(0);
    expect(released.stdout).toContain(`released "${k}"`);
    const again = await runCli(["release", k, "--token", String(lease.token), "--json"], env);
    expect(again.code).toBe(1);
    expect(json(again.stderr)).toMatchObject({ error: { code: "not_held" } });
    expect(json((await runCli(["inspect", k, "--json"], env)).stdout)).toEqual({ key: k, held: false });
  }, 60_000);

  test("break frees a lock without its token, only under the fence given; the next holder's fence is greater", async () => {
    const k = key("break");
    const holder = createLocker({ adapter: upstashAdapter({ url: upstash.url, token: upstash.token }) });
    const lease = await holder.tryAcquire(k, { ttlMs: 60_000 });
    if (!lease) throw new Error("expected a lease");
    const wrong = await runCli(["break", k, "--fence", String(lease.fence + 1), "--json"], env);
    expect(wrong.code).toBe(1);
    expect(json(wrong.stdout)).toEqual({ key: k, released: false });
    const broken = await runCli(["break", k], env);
    expect(broken.code).toBe(0);
    expect(broken.stdout).toContain(`broke the lock on "${k}" (fence ${lease.fence})`);
    await expect(lease.extend()).rejects.toThrow(/no longer held/);
    const next = json((await runCli(["acquire", k, "--json"], env)).stdout);
    expect(next.fence).toBeGreaterThan(lease.fence);
    const nothing = await runCli(["break", k, "--fence", String(lease.fence)], env);
    expect(nothing.code).toBe(1);
    expect(nothing.stdout).toContain("nothing to break");
  }, 60_000);

  test("--namespace prefixes keys as the lock client's namespace does", async () => {
    const k = key("ns");
    const lease = await createLocker({
      adapter: upstashAdapter({ url: upstash.url, token: upstash.token }),
      namespace: "billing:",
    }).tryAcquire(k, { ttlMs: 60_000 });
    expect(json((await runCli(["inspect", k, "--json"], env)).stdout)).toMatchObject({ held: false });
    expect(json((await runCli(["inspect", k, "--namespace", "billing:", "--json"], env)).stdout)).toMatchObject({
      held: true,
      fence: lease?.fence,
    });
  }, 30_000);

  test("--url and --token reach a deployed lock service (httpAdapter)", async () => {
    const k = key("http");
    const flags = ["--url", service.url, "--token", SERVICE_TOKEN];
    const acquired = json((await runCli(["acquire", k, ...flags, "--json"], {})).stdout);
    expect(acquired).toMatchObject({ key: k, fence: 1 });
    expect(json((await runCli(["inspect", k, ...flags, "--json"], {})).stdout)).toMatchObject({ held: true, fence: 1 });
    // For release, --token is the lease's; the service's comes from --service-token or the environment.
    const released = await runCli(["release", k, "--url", service.url, "--token", String(acquired.token)], {
      EDGELOCK_SERVICE_TOKEN: SERVICE_TOKEN,
    });
    expect(released.code, released.stderr).toBe(0);
    // Semaphores go through the service's /v1/semaphores routes.
    const permit = json((await runCli(["sem", "acquire", k, "--limit", "2", ...flags, "--json"], {})).stdout);
    expect(permit).toMatchObject({ key: k, fence: 1 });
    expect(json((await runCli(["sem", "inspect", k, ...flags, "--json"], {})).stdout)).toMatchObject({
      limit: 2,
      permits: [{ fence: 1 }],
    });
    const bad = await runCli(["inspect", k, "--url", service.url, "--token", "wrong-token-123"], {});
    expect(bad.code).toBe(69);
    expect(bad.stderr).toMatch(/edgelock: .*401|unauthori[sz]ed|rejected/i);
  }, 60_000);

  test("bad command lines exit 64 with a reason, before any backend request", async () => {
    const before = upstash.requests();
    const cases: [string[], RegExp][] = [
      [["frobnicate", "k"], /unknown command/],
      [["inspect"], /needs a key/],
      [["run", "k", "--ttl", "5x", "--", "true"], /--ttl must be a duration/],
      [["run", "k", "--ttl", "30", "--", "true"], /--ttl must be a duration/],
      [["run", "k"], /needs a command after --/],
      [["run", "k", "true"], /put the command after --/],
      [["release", "k"], /needs the lease's --token/],
      [["break", "k", "--fence", "x"], /--fence must be a positive whole number/],
      [["inspect", "k", "--bogus"], /Unknown option '--bogus'/],
      [["inspect", ""], /key must be 1 to 256 bytes/],
      [["sem"], /sem needs a subcommand: run, inspect, acquire, extend, release/],
      [["elect", "--json"], /elect needs a subcommand: run, leader, observe/],
      [["sem", "frob", "k"], /unknown command "sem frob"/],
      [["sem", "run", "k", "--", "true"], /sem run needs --limit N/],
      [["sem", "run", "k", "--limit", "0", "--", "true"], /--limit must be a positive whole number/],
      [["sem", "run", "k", "--limit", "2"], /sem run needs a command after --/],
      [["sem", "acquire", "k"], /sem acquire needs --limit N/],
      [["sem", "release", "k"], /needs the lease's --token/],
      [["sem", "inspect", "k", "--id", "x"], /Unknown option '--id'/],
      [["elect", "run", "k", "--wait", "0", "--", "true"], /--wait must be longer than 0/],
      [["elect", "run", "k", "true"], /put the command after --/],
      [["elect", "leader", "k", "--", "true"], /elect leader takes no command after --/],
      [["elect", "observe", "k", "--interval", "0"], /--interval must be longer than 0/],
    ];
    for (const [args, reason] of cases) {
      const { code, stderr } = await runCli(args, env);
      expect(code, args.join(" ")).toBe(64);
      expect(stderr, args.join(" ")).toMatch(reason);
    }
    expect(upstash.requests()).toBe(before);
    const memory = await runCli(["inspect", "k"], { EDGELOCK_BACKEND: "memory" });
    expect(memory.code).toBe(64);
    expect(memory.stderr).toContain("no shared backend");
  }, 240_000);

  test("an unreachable backend exits 69 with the reason", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { code, stderr } = await runCli(["inspect", "k", "--json"], { ...env, UPSTASH_REDIS_REST_URL: closed });
    expect(code).toBe(69);
    expect(json(stderr.trim().split("\n").at(-1) ?? "")).toMatchObject({ error: { code: "backend_unavailable" } });
  }, 60_000);
});
