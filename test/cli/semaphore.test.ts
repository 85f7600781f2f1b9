import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { useCliBed } from "./cli-fixture.js";
import { runCli, startCli } from "./spawn-cli.js";

const bed = useCliBed("sem");
const json = (text: string) => JSON.parse(text.trim()) as Record<string, unknown>;

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
    const k = bed.key("limit");
    const base = join(bed.dir, k);
    const go = `${base}.go`;
    const run = () =>
      startCli(
        bed.bundle,
        ["sem", "run", k, "--limit", "2", "--ttl", "30s", "--wait", "2m", "--", "sh", "-c", slotScript(base, 2, go)],
        bed.env,
      );
    const first = run();
    const second = run();
    await Promise.all([first.stdoutIncludes("ready"), second.stdoutIncludes("ready")]);
    const state = await bed.locker.semaphore(k, { limit: 2 }).inspect();
    expect(state.permits).toHaveLength(2);

    const before = bed.upstash.requests();
    const third = run();
    // Its first acquire was answered (refused: both permits are held, and a
    // third command inside would have exited 99 at once).
    await bed.requestsBeyond(before, 1);
    const refused = await runCli(["sem", "run", k, "--limit", "2", "--wait", "0", "--", "true"], bed.env);
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
    expect((await bed.locker.semaphore(k, { limit: 2 }).inspect()).permits).toEqual([]);
  }, 180_000);

  test("exit codes as run's: the command's own, 128+N, 127; a different --limit than the live permits' exits 69", async () => {
    const k = bed.key("codes");
    expect((await runCli(["sem", "run", k, "--limit", "3", "--", "sh", "-c", "exit 7"], bed.env)).code).toBe(7);
    expect((await runCli(["sem", "run", k, "--limit", "3", "--", "sh", "-c", "kill -KILL $$"], bed.env)).code).toBe(
      137,
    );
    const missing = await runCli(
      ["sem", "run", k, "--limit", "3", "--", "/nonexistent/edgelock-test-command"],
      bed.env,
    );
    expect(missing.code).toBe(127);

    const holder = startCli(
      bed.bundle,
      ["sem", "run", k, "--limit", "3", "--", "sh", "-c", "echo ready; exec sleep 30"],
      bed.env,
    );
    await holder.stdoutIncludes("ready");
    const marker = join(bed.dir, `${k}.ran`);
    const mismatch = await runCli(["sem", "run", k, "--limit", "2", "--json", "--", "touch", marker], bed.env);
    expect(mismatch.code).toBe(69);
    expect(json(mismatch.stderr.trim().split("\n").at(-1) ?? "")).toMatchObject({
      error: { code: "limit_mismatch", message: expect.stringContaining("under limit 3, not 2") },
    });
    expect(existsSync(marker)).toBe(false);
    holder.child.kill("SIGTERM");
    expect((await holder.done).code).toBe(143);
    expect((await bed.locker.semaphore(k, { limit: 3 }).inspect()).permits).toEqual([]);
  }, 120_000);

  test("a permit lost while the command runs signals the command and exits 76", async () => {
    const k = bed.key("lost");
    const script = `trap 'echo got-TERM; exit 0' TERM; echo ready; while true; do sleep 0.1; done`;
    const running = startCli(
      bed.bundle,
      ["sem", "run", k, "--limit", "2", "--ttl", "1500ms", "--", "sh", "-c", script],
      bed.env,
    );
    await running.stdoutIncludes("ready");
    // Nobody can break a permit without its token: its record vanishing
    // from Redis makes the next extension refused, as a takeover would.
    await bed.upstash.redis.del(`edgelock:{${k}}:sem`, `edgelock:{${k}}:semdata`);
    const finished = await running.done;
    expect(finished.code).toBe(76);
    expect(finished.stdout).toContain("got-TERM");
    expect(finished.stderr).toMatch(/lost the permit of ".*" while the command ran .*not protected/);
  }, 60_000);

  test("sem acquire prints a token; sem inspect lists permits without it; sem extend and sem release answer as documented", async () => {
    const k = bed.key("cycle");
    const acquired = await runCli(["sem", "acquire", k, "--limit", "2", "--owner", "batch", "--json"], bed.env);
    expect(acquired.code, acquired.stderr).toBe(0);
    const permit = json(acquired.stdout);
    expect(permit.token).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const inspected = await runCli(["sem", "inspect", k, "--json"], bed.env);
    expect(inspected.stdout).not.toContain(String(permit.token));
    expect(json(inspected.stdout)).toMatchObject({
      key: k,
      limit: 2,
      free: 1,
      permits: [{ fence: permit.fence, owner: "batch" }],
    });
    const human = await runCli(["sem", "inspect", k], bed.env);
    expect(human.stdout).toMatch(
      new RegExp(`"${k}": 1 of 2 permits held\\n  fence ${permit.fence}, expires in .*owner "batch"`),
    );
    const other = await runCli(["sem", "inspect", k, "--limit", "5"], bed.env);
    expect(other.stdout).toContain("(the live permits use limit 2, not 5)");

    const extended = await runCli(
      ["sem", "extend", k, "--token", String(permit.token), "--ttl", "45s", "--json"],
      bed.env,
    );
    expect(json(extended.stdout)).toMatchObject({ fence: permit.fence, ttlMs: 45_000 });
    expect((await runCli(["sem", "release", k, "--token", String(permit.token)], bed.env)).stdout).toContain(
      `released a permit of "${k}"`,
    );
    const again = await runCli(["sem", "release", k, "--token", String(permit.token)], bed.env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`that token does not hold a permit of "${k}"`);
    expect(json((await runCli(["sem", "inspect", k, "--json"], bed.env)).stdout)).toEqual({
      key: k,
      limit: null,
      permits: [],
    });
  }, 120_000);
});
