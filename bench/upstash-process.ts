/**
 * `BENCH_UPSTASH_PROCESS=1`: the Upstash-REST test endpoint (and its
 * `redis-server`) in a process of its own instead of the bench's, so its
 * request handling does not share a thread with the workers it serves and
 * the peer they are compared with. Neither arrangement is production (a
 * remote server); on a 2-core machine the ratio to the peer depends on it
 * (docs/bench.md, "Where the Upstash endpoint runs"). Run as a child by
 * {@link startUpstashProcess}; prints `{url, token}` on its first stdout
 * line and stops when its stdin closes.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** A running endpoint in its own process. */
export interface UpstashProcess {
  readonly url: string;
  readonly token: string;
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);
const START_MS = 30_000;
const STOP_MS = 10_000;

/** Start the endpoint as a child process (Node with `tsx`, as the bench runs). */
export async function startUpstashProcess(): Promise<UpstashProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", SELF, "--serve"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    child.stdin?.end();
    const late = setTimeout(() => child.kill("SIGKILL"), STOP_MS);
    await exited;
    clearTimeout(late);
  };
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
  process.stdout.write(`${JSON.stringify({ url: fixture.url, token: fixture.token })}\n`);
  process.stdin.resume();
  process.stdin.once("end", () => {
    void fixture.stop().then(() => process.exit(0));
  });
}
