/**
 * `BENCH_UPSTASH_PROCESS=1`: the Upstash-REST test endpoint (and its
 * `redis-server`) in a process of its own instead of the bench's, so its
 * request handling does not share a thread with the workers it serves and
 * the peer they are compared with. Neither arrangement is production (a
 * remote server); on a 2-core machine the ratio to the peer depends on it
 * (docs/bench.md, "Where the Upstash endpoint runs"). Run as a child by
 * {@link startUpstashProcess}; prints `{url, token}` on its first stdout
 * line and stops on SIGTERM or when its stdin closes.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { stopChild } from "../test/support/processes.js";

/** A running endpoint in its own process. */
export interface UpstashProcess {
  readonly url: string;
  readonly token: string;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);
const START_MS = 30_000;

/** Start the endpoint as a child process (Node with `tsx`, as the bench runs). */
export async function startUpstashProcess(): Promise<UpstashProcess> {
  // Its own process group, so that stopping it also stops its redis-server, even by SIGKILL.
  const child = spawn(process.execPath, ["--import", "tsx", SELF, "--serve"], {
    stdio: ["pipe", "pipe", "inherit"],
    detached: true,
  });
  const stop = () => stopChild(child, { group: true });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the Upstash endpoint process did not start")), START_MS);
      const lines = createInterface({ input: child.stdout });
      lines.once("line", (line) => {
        clearTimeout(timer);
        resolve(line);
      });
      child.once("exit", (code) => reject(new Error(`the Upstash endpoint process exited (${code})`)));
    });
    const { url, token } = JSON.parse(first) as { url: string; token: string };
    return { url, token, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

if (process.argv.includes("--serve")) {
  const { startUpstash } = await import("../test/support/upstash-rest.js");
  const fixture = await startUpstash();
  const shutdown = () => void fixture.stop().then(() => process.exit(0));
  // SIGTERM from stopChild; stdin's end if the bench died without stopping it.
  process.once("SIGTERM", shutdown);
  process.stdin.resume();
  process.stdin.once("end", shutdown);
  process.stdout.write(`${JSON.stringify({ url: fixture.url, token: fixture.token })}\n`);
}
