import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { useCliBed } from "./cli-fixture.js";
import { runCli, startCli } from "./spawn-cli.js";

const bed = useCliBed("run");

describe("edgelock run, as processes against Upstash REST over redis-server", () => {
  test("concurrent runs on one key never overlap, each sees its own rising EDGELOCK_FENCE", async () => {
    const k = bed.key("mutex");
    const inside = join(bed.dir, `${k}.inside`);
    const log = join(bed.dir, `${k}.fences`);
    // mkdir is an atomic test-and-set: it fails if another command is inside.
    const script = `mkdir "${inside}" || exit 99; echo "$EDGELOCK_FENCE" >> "${log}"; sleep 0.3; rmdir "${inside}"`;
    const runs = Array.from({ length: 5 }, () =>
      runCli(["run", k, "--ttl", "10s", "--wait", "2m", "--", "sh", "-c", script], bed.env),
    );
    const finished = await Promise.all(runs);
    for (const run of finished) expect(run, run.stderr).toMatchObject({ code: 0 });
    const fences = readFileSync(log, "utf8").trim().split("\n").map(Number);
    expect(fences).toHaveLength(5);
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1] ?? 0);
    expect(await bed.locker.inspect(k)).toEqual({ held: false });
  }, 120_000);

  test("exits with the command's code; 128+N for a signal; 127 for a missing command; EDGELOCK_FENCE and EDGELOCK_KEY are set", async () => {
    const k = bed.key("codes");
    expect((await runCli(["run", k, "--", "sh", "-c", "exit 7"], bed.env)).code).toBe(7);
    expect((await runCli(["run", k, "--", "sh", "-c", "kill -KILL $$"], bed.env)).code).toBe(137);
    const missing = await runCli(["run", k, "--", "/nonexistent/edgelock-test-command"], bed.env);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("could not run");
    const printed = await runCli(["run", k, "--", "sh", "-c", 'echo "$EDGELOCK_KEY $EDGELOCK_FENCE"'], bed.env);
    expect(printed.code).toBe(0);
    const [printedKey, fence] = printed.stdout.trim().split(" ");
    expect(printedKey).toBe(k);
    // Four grants so far on this key: the fence is the fourth.
    expect(Number(fence)).toBe(4);
    expect(await bed.locker.inspect(k)).toEqual({ held: false });
  }, 60_000);

  test("a held lock with --wait 0 exits 75 without running the command; the lease is extended past its TTL while the command runs", async () => {
    const k = bed.key("held");
    const marker = join(bed.dir, `${k}.ran`);
    const go = join(bed.dir, `${k}.go`);
    // The holder runs for several TTLs (until told to stop, however slow the
    // machine): only extensions keep it held.
    const script = `echo ready; while [ ! -e "${go}" ]; do sleep 0.05; done`;
    const holder = startCli(bed.bundle, ["run", k, "--ttl", "1500ms", "--", "sh", "-c", script], bed.env);
    await holder.stdoutIncludes("ready");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const refused = await runCli(["run", k, "--wait", "0", "--json", "--", "touch", marker], bed.env);
    expect(refused.code).toBe(75);
    expect(JSON.parse(refused.stderr.trim())).toMatchObject({ error: { code: "held", key: k } });
    expect(existsSync(marker)).toBe(false);
    expect(await bed.locker.inspect(k)).toMatchObject({ held: true });
    writeFileSync(go, "");
    expect((await holder.done).code).toBe(0);
    expect(await bed.locker.inspect(k)).toEqual({ held: false });
  }, 60_000);

  test("SIGTERM and SIGINT are forwarded to the command; edgelock exits with its code and releases", async () => {
    for (const [signal, code] of [
      ["SIGTERM", 42],
      ["SIGINT", 43],
    ] as const) {
      const k = bed.key(signal);
      const name = signal.slice(3);
      const script = `trap 'echo got-${name}; exit ${code}' ${name}; echo ready; while true; do sleep 0.1; done`;
      const running = startCli(bed.bundle, ["run", k, "--", "sh", "-c", script], bed.env);
      await running.stdoutIncludes("ready");
      expect(await bed.locker.inspect(k)).toMatchObject({ held: true });
      running.child.kill(signal);
      const finished = await running.done;
      expect(finished.code, finished.stderr).toBe(code);
      expect(finished.stdout).toContain(`got-${name}`);
      expect(await bed.locker.inspect(k)).toEqual({ held: false });
    }
  }, 60_000);

  test("a lease lost while the command runs (an operator's break) signals the command and exits 76 with a clear message", async () => {
    const k = bed.key("lost");
    const script = `trap 'echo got-TERM; exit 0' TERM; echo ready; while true; do sleep 0.1; done`;
    const running = startCli(bed.bundle, ["run", k, "--ttl", "1500ms", "--", "sh", "-c", script], bed.env);
    await running.stdoutIncludes("ready");
    const broken = await runCli(["break", k], bed.env);
    expect(broken.code).toBe(0);
    const finished = await running.done;
    expect(finished.code).toBe(76);
    expect(finished.stdout).toContain("got-TERM");
    expect(finished.stderr).toMatch(/lost the lock on ".*" while the command ran .*not protected/);
  }, 60_000);

  test("--verbose reports the acquire and the release on stderr, leaving stdout to the command", async () => {
    const k = bed.key("verbose");
    const finished = await runCli(["run", k, "-v", "--owner", "ci", "--", "echo", "hello"], bed.env);
    expect(finished.code).toBe(0);
    expect(finished.stdout).toBe("hello\n");
    expect(finished.stderr).toMatch(new RegExp(`edgelock: acquired "${k}" \\(fence 1, ttl 1m, waited \\d+`));
    expect(finished.stderr).toContain(`released "${k}" (fence 1); the command exited 0`);
  }, 30_000);
});
