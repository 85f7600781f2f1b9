import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { useCliBed } from "./cli-fixture.js";
import { runCli, startCli } from "./spawn-cli.js";

const bed = useCliBed("elect");
const json = (text: string) => JSON.parse(text.trim()) as Record<string, unknown>;

/**
 * A leader's command: takes the inside-marker with an atomic mkdir (exit 99
 * if another leader's command is inside), logs identity and term, prints
 * `ready`, waits for its own go-file, and leaves.
 */
function leaderScript(base: string): string {
  return [
    `mkdir "${base}.inside" || exit 99`,
    `echo "$EDGELOCK_IDENTITY $EDGELOCK_TERM $EDGELOCK_FENCE" >> "${base}.log"`,
    `echo "ready $EDGELOCK_IDENTITY"`,
    `while [ ! -e "${base}.go-$EDGELOCK_IDENTITY" ]; do sleep 0.05; done`,
    `rmdir "${base}.inside"`,
  ].join("; ");
}

describe("edgelock elect, as processes against Upstash REST over redis-server", () => {
  test("two elect runs: only the leader runs its command; the other takes over once it exits, with a greater term", async () => {
    const k = bed.key("takeover");
    const base = join(bed.dir, k);
    const run = (id: string) =>
      startCli(
        bed.bundle,
        ["elect", "run", k, "--id", id, "--ttl", "30s", "--", "sh", "-c", leaderScript(base)],
        bed.env,
      );
    const alpha = run("alpha");
    await alpha.stdoutIncludes("ready alpha");
    const before = bed.upstash.requests();
    const beta = run("beta");
    // beta's campaign has reached the backend and been refused (its command
    // would have exited 99 at once had it been let in).
    await bed.requestsBeyond(before, 1);

    const leader = await runCli(["elect", "leader", k, "--json"], bed.env);
    expect(json(leader.stdout)).toMatchObject({ key: k, leader: { identity: "alpha", term: 1 } });
    const human = await runCli(["elect", "leader", k], bed.env);
    expect(human.stdout).toMatch(
      new RegExp(`^"${k}" is led by "alpha": term 1, since \\d{4}-\\d\\d-\\d\\dT[^ ]+Z \\([^)]+\\), lease expires in `),
    );
    expect(readFileSync(`${base}.log`, "utf8")).toBe("alpha 1 1\n");

    writeFileSync(`${base}.go-alpha`, "");
    expect((await alpha.done).code).toBe(0);
    await beta.stdoutIncludes("ready beta");
    expect(json((await runCli(["elect", "leader", k, "--json"], bed.env)).stdout)).toMatchObject({
      leader: { identity: "beta", term: 2 },
    });
    writeFileSync(`${base}.go-beta`, "");
    const finished = await beta.done;
    expect(finished.code, finished.stderr).toBe(0);
    expect(readFileSync(`${base}.log`, "utf8")).toBe("alpha 1 1\nbeta 2 2\n");
    // beta resigned at exit: nobody leads.
    expect(json((await runCli(["elect", "leader", k, "--json"], bed.env)).stdout)).toEqual({ key: k, leader: null });
    expect((await runCli(["elect", "leader", k], bed.env)).stdout).toBe(`nobody leads "${k}"\n`);
  }, 180_000);

  test("leadership lost while the command runs (an operator's break) signals it and exits 76; exit codes pass through", async () => {
    const k = bed.key("lost");
    const script = `trap 'echo got-TERM; exit 0' TERM; echo ready; while true; do sleep 0.1; done`;
    // A TTL long enough that only the break ends this leadership on a loaded
    // machine (the leader stands down early when an extension is late).
    const running = startCli(bed.bundle, ["elect", "run", k, "--ttl", "6s", "--", "sh", "-c", script], bed.env);
    await running.stdoutIncludes("ready");
    const broken = await runCli(["break", k], bed.env);
    expect(broken.code, broken.stdout).toBe(0);
    const finished = await running.done;
    expect(finished.code).toBe(76);
    expect(finished.stdout).toContain("got-TERM");
    expect(finished.stderr).toMatch(/lost leadership of ".*" \(term 1\) while the command ran/);

    expect((await runCli(["elect", "run", k, "--", "sh", "-c", "exit 9"], bed.env)).code).toBe(9);
    expect((await runCli(["elect", "run", k, "--", "/nonexistent/edgelock-test-command"], bed.env)).code).toBe(127);
    expect(await bed.locker.inspect(k)).toEqual({ held: false });
  }, 120_000);

  test("SIGTERM while campaigning ends the campaign (128+15, nothing ran); while leading it is forwarded, then edgelock resigns", async () => {
    const k = bed.key("signals");
    const other = await bed.locker.election(k).campaign({ identity: "someone-else", ttlMs: 60_000 });
    const marker = join(bed.dir, `${k}.ran`);
    const before = bed.upstash.requests();
    const campaigning = startCli(bed.bundle, ["elect", "run", k, "--", "touch", marker], bed.env);
    await bed.requestsBeyond(before, 1);
    campaigning.child.kill("SIGTERM");
    const ended = await campaigning.done;
    expect(ended.code, ended.stderr).toBe(143);
    expect(ended.stderr).toContain(`SIGTERM while campaigning for "${k}"; the command did not run`);
    expect(() => readFileSync(marker)).toThrow();
    await other.resign();

    const script = `trap 'echo got-TERM; exit 42' TERM; echo ready; while true; do sleep 0.1; done`;
    const leading = startCli(bed.bundle, ["elect", "run", k, "--id", "pod-c", "--", "sh", "-c", script], bed.env);
    await leading.stdoutIncludes("ready");
    leading.child.kill("SIGTERM");
    const finished = await leading.done;
    expect(finished.code, finished.stderr).toBe(42);
    expect(finished.stdout).toContain("got-TERM");
    expect(await bed.locker.election(k).leader()).toBeNull();
  }, 120_000);

  test("elect run --wait gives up with exit 75 while another leads, without running the command", async () => {
    const k = bed.key("wait");
    const leader = await bed.locker.election(k).campaign({ identity: "someone-else", ttlMs: 60_000 });
    const marker = join(bed.dir, `${k}.ran`);
    const refused = await runCli(["elect", "run", k, "--wait", "1s", "--json", "--", "touch", marker], bed.env);
    expect(refused.code).toBe(75);
    expect(json(refused.stderr.trim().split("\n").at(-1) ?? "")).toMatchObject({ error: { code: "not_elected" } });
    expect(() => readFileSync(marker)).toThrow();
    await leader.resign();
  }, 60_000);

  test("elect observe prints the leader, then each change, as JSON lines, until SIGTERM (exit 0)", async () => {
    const k = bed.key("observe");
    const base = join(bed.dir, k);
    const observer = startCli(bed.bundle, ["elect", "observe", k, "--interval", "200ms", "--json"], bed.env);
    await observer.stdoutIncludes(`"leader":null`);
    const run = (id: string) =>
      startCli(bed.bundle, ["elect", "run", k, "--id", id, "--", "sh", "-c", leaderScript(base)], bed.env);
    const alpha = run("alpha");
    await observer.stdoutIncludes(`"identity":"alpha"`);
    writeFileSync(`${base}.go-alpha`, "");
    expect((await alpha.done).code).toBe(0);
    const beta = run("beta");
    await observer.stdoutIncludes(`"identity":"beta"`);
    writeFileSync(`${base}.go-beta`, "");
    expect((await beta.done).code).toBe(0);
    observer.child.kill("SIGTERM");
    const finished = await observer.done;
    expect(finished.code, finished.stderr).toBe(0);
    const lines = finished.stdout.trim().split("\n").map(json);
    for (const line of lines) expect(line).toMatchObject({ key: k, at: expect.any(Number) });
    const leaders = lines.map((line) => line.leader as { identity: string; term: number } | null);
    expect(leaders[0]).toBeNull();
    // Each line is a change, so no two in a row are the same.
    for (let i = 1; i < leaders.length; i++) expect(leaders[i]).not.toEqual(leaders[i - 1]);
    const terms = leaders.flatMap((leader) => (leader ? [[leader.identity, leader.term]] : []));
    expect(terms).toEqual([
      ["alpha", 1],
      ["beta", 2],
    ]);
  }, 120_000);
});
