import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLocker, type Locker } from "../../src/index.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";
import { cliBundle, runCli, startCli } from "./spawn-cli.js";

let upstash: UpstashFixture;
let env: Record<string, string>;
let bundle: string;
let locker: Locker;
let dir: string;
beforeAll(async () => {
  [upstash, bundle] = await Promise.all([startUpstash(), cliBundle()]);
  env = { EDGELOCK_BACKEND: "upstash", UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token };
  // The test's own client: another process's view of the same Redis.
  locker = createLocker({ adapter: upstashAdapter({ url: upstash.url, token: upstash.token }) });
  dir = mkdtempSync(join(tmpdir(), "edgelock-cli-sem-"));
}, 60_000);
afterAll(async () => {
  await upstash?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
const key = (label: string) => `sem-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
const json = (text: string) => JSON.parse(text.trim()) as Record<string, unknown>;

/** Resolves once the endpoint has answered `more` requests beyond `from`. */
async function requestsBeyond(from: number, more: number): Promise<void> {
  while (upstash.requests() < from + more) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * A command that claims one of `slots` inside-markers with an atomic mkdir
 * (exit 99 when all are taken: more than `slots` commands inside at once),
 * logs its fence, prints `ready`, waits for `go`, and leaves.
 */
function slotScript(base: string, slots: number, go: string): string {
  const claims = Array.from(
    { length: slots },
    (_, i) => `mkdir "${base}.slot${i}" 2>/dev/null && s="${base}.slot${i}"`,
  );
  return [
    `s=""; ${claims.map((claim) => `[ -z "$s" ] && ${claim}`).join("; ")}`,
    `[ -n "$s" ] || exit 99`,
    `echo "$EDGELOCK_FENCE $EDGELOCK_LIMIT" >> "${base}.log"`,
    `echo ready`,
    `while [ ! -e "${go}" ]; do sleep 0.05; done`,
    `rmdir "$s"`,
  ].join("; ");
}

describe("edgelock sem, as processes against Upstash REST over redis-server", () => {
  test("three sem runs with --limit 2: never more than two inside; the third runs once a permit frees", async () => {
    const k = key("limit");
    const base = join(dir, k);
    const go = `${base}.go`;
    const run = () =>
      startCli(
        bundle,
        ["sem", "run", k, "--limit", "2", "--ttl", "30s", "--wait", "2m", "--", "sh", "-c", slotScript(base, 2, go)],
        env,
      );
    const first = run();
    const second = run();
    await Promise.all([first.stdoutIncludes("ready"), second.stdoutIncludes("ready")]);
    const state = await locker.semaphore(k, { limit: 2 }).inspect();
    expect(state.permits).toHaveLength(2);

    const before = upstash.requests();
    const third = run();
    // Its first acquire was answered (refused: both permits are held, and a
    // third command inside would have exited 99 at once).
    await requestsBeyond(before, 1);
    const refused = await runCli(["sem", "run", k, "--limit", "2", "--wait", "0", "--", "true"], env);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toContain(`all 2 permits of "${k}" are held; the command did not run`);
    expect(readFileSync(`${base}.log`, "utf8").trim().split("\n")).toHaveLength(2);

    writeFileSync(go, "");
    const finished = await Promise.all([first.done, second.done, third.done]);
    for (const done of finished) expect(done, done.stderr).toMatchObject({ code: 0 });
    const lines = readFileSync(`${base}.log`, "utf8").trim().split("\n");
    expect(lines).toHaveLength(3);
    const fences = lines.map((line) => Number(line.split(" ")[0]));
    expect(new Set(fences).size).toBe(3);
    for (const line of lines) expect(line.split(" ")[1]).toBe("2");
    expect((await locker.semaphore(k, { limit: 2 }).inspect()).permits).toEqual([]);
  }, 180_000);

  test("exit codes as run's: the command's own, 128+N, 127; a different --limit than the live permits' exits 69", async () => {
    const k = key("codes");
    expect((await runCli(["sem", "run", k, "--limit", "3", "--", "sh", "-c", "exit 7"], env)).code).toBe(7);
    expect((await runCli(["sem", "run", k, "--limit", "3", "--", "sh", "-c", "kill -KILL $$"], env)).code).toBe(137);
    const missing = await runCli(["sem", "run", k, "--limit", "3", "--", "/nonexistent/edgelock-test-command"], env);
    expect(missing.code).toBe(127);

    const holder = startCli(
      bundle,
      ["sem", "run", k, "--limit", "3", "--", "sh", "-c", "echo ready; exec sleep 30"],
      env,
    );
    await holder.stdoutIncludes("ready");
    const marker = join(dir, `${k}.ran`);
    const mismatch = await runCli(["sem", "run", k, "--limit", "2", "--json", "--", "touch", marker], env);
    expect(mismatch.code).toBe(69);
    expect(json(mismatch.stderr.trim().split("\n").at(-1) ?? "")).toMatchObject({
      error: { code: "limit_mismatch", message: expect.stringContaining("under limit 3, not 2") },
    });
    expect(existsSync(marker)).toBe(false);
    holder.child.kill("SIGTERM");
    expect((await holder.done).code).toBe(143);
    expect((await locker.semaphore(k, { limit: 3 }).inspect()).permits).toEqual([]);
  }, 120_000);

  test("a permit lost while the command runs signals the command and exits 76", async () => {
    const k = key("lost");
    const script = `trap 'echo got-TERM; exit 0' TERM; echo ready; while true; do sleep 0.1; done`;
    const running = startCli(
      bundle,
      ["sem", "run", k, "--limit", "2", "--ttl", "1500ms", "--", "sh", "-c", script],
      env,
    );
    await running.stdoutIncludes("ready");
    // Nobody can break a permit without its token: its record vanishing
    // from Redis makes the next extension refused, as a takeover would.
    await upstash.redis.del(`edgelock:{${k}}:sem`, `edgelock:{${k}}:semdata`);
    const finished = await running.done;
    expect(finished.code).toBe(76);
    expect(finished.stdout).toContain("got-TERM");
    expect(finished.stderr).toMatch(/lost the permit of ".*" while the command ran .*not protected/);
  }, 60_000);

  test("sem acquire prints a token; sem inspect lists permits without it; sem extend and sem release answer as documented", async () => {
    const k = key("cycle");
    const acquired = await runCli(["sem", "acquire", k, "--limit", "2", "--owner", "batch", "--json"], env);
    expect(acquired.code, acquired.stderr).toBe(0);
    const permit = json(acquired.stdout);
    expect(permit.token).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const inspected = await runCli(["sem", "inspect", k, "--json"], env);
    expect(inspected.stdout).not.toContain(String(permit.token));
    expect(json(inspected.stdout)).toMatchObject({
      key: k,
      limit: 2,
      free: 1,
      permits: [{ fence: permit.fence, owner: "batch" }],
    });
    const human = await runCli(["sem", "inspect", k], env);
    expect(human.stdout).toMatch(
      new RegExp(`"${k}": 1 of 2 permits held\\n  fence ${permit.fence}, expires in .*owner "batch"`),
    );
    const other = await runCli(["sem", "inspect", k, "--limit", "5"], env);
    expect(other.stdout).toContain("(the live permits use limit 2, not 5)");

    const extended = await runCli(["sem", "extend", k, "--token", String(permit.token), "--ttl", "45s", "--json"], env);
    expect(json(extended.stdout)).toMatchObject({ fence: permit.fence, ttlMs: 45_000 });
    expect((await runCli(["sem", "release", k, "--token", String(permit.token)], env)).stdout).toContain(
      `released a permit of "${k}"`,
    );
    const again = await runCli(["sem", "release", k, "--token", String(permit.token)], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`that token does not hold a permit of "${k}"`);
    expect(json((await runCli(["sem", "inspect", k, "--json"], env)).stdout)).toEqual({
      key: k,
      limit: null,
      permits: [],
    });
  }, 120_000);
});
