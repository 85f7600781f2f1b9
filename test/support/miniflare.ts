import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import {
  DURABLE_OBJECT_BINDING,
  DURABLE_OBJECT_CLASS,
  type LockObjectNamespace,
} from "../../adapters/durable-object/index.js";
import { waitForPort } from "./ports.js";
import { gatewayNamespace } from "./stub-gateway.js";

const ENTRY = fileURLToPath(new URL("../../service/platforms/worker.ts", import.meta.url));
const GATEWAY = fileURLToPath(new URL("./stub-gateway.ts", import.meta.url));
/** Kept in step with `compatibility_date` and `compatibility_flags` in wrangler.toml. */
export const COMPATIBILITY_DATE = "2026-04-20";
export const COMPATIBILITY_FLAGS = ["enable_request_signal"];

/** Options of {@link startLockWorker}. */
export interface LockWorkerOptions {
  /** Worker entry to bundle. Default: `service/platforms/worker.ts`, as wrangler.toml says. */
  readonly entry?: string;
  /** Plain-text bindings (vars and secrets), e.g. `{ EDGELOCK_API_TOKENS: "t1" }`. */
  readonly bindings?: Record<string, string>;
}

/** A running Worker with the lock object, in workerd. */
export interface LockWorker {
  /**
   * The `LOCKS` namespace, usable from Node: `durableObjectAdapter({ namespace })`. Its stubs call
   * the objects over HTTP through the bundle's stub gateway (see `stub-gateway.ts`), never through
   * Miniflare's synchronous binding proxy.
   */
  readonly namespace: LockObjectNamespace;
  readonly mf: Miniflare;
  /** Base URL of the Worker's `fetch` handler on loopback, e.g. `http://127.0.0.1:40123/`. */
  readonly url: URL;
  stop(): Promise<void>;
}

/**
 * Bundle the Worker entry with esbuild, the test stub gateway in front of
 * it, and run it in Miniflare, served on a direct loopback socket into the
 * Worker (see the options below), with the `LOCKS` binding to a
 * SQLite-backed `LockDurableObject`. Its storage is a fresh
 * directory in `/dev/shm` (tmpfs) where there is one: Miniflare's default is
 * the disk's temporary directory, where every storage commit waits for the
 * disk (on this machine's virtual disk that doubled a call's latency and
 * halved the Worker's requests per second), which is this machine, not
 * Cloudflare. Elsewhere Miniflare's default.
 *
 * @example
 * ```ts
 * let worker: LockWorker;
 * beforeAll(async () => { worker = await startLockWorker(); });
 * afterAll(() => worker.stop());
 * ```
 */
export async function startLockWorker(options: LockWorkerOptions = {}): Promise<LockWorker> {
  const entry = JSON.stringify(options.entry ?? ENTRY);
  const bundle = await build({
    stdin: {
      contents: [
        `import service from ${entry};`,
        `import { withStubGateway } from ${JSON.stringify(GATEWAY)};`,
        `export * from ${entry};`,
        "export default withStubGateway(service);",
      ].join("\n"),
      resolveDir: dirname(ENTRY),
      sourcefile: "test-worker.ts",
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    write: false,
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]?.text;
  if (script === undefined) throw new Error("esbuild produced no output");
  const storage = existsSync("/dev/shm") ? mkdtempSync(join("/dev/shm", "edgelock-miniflare-")) : undefined;
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: COMPATIBILITY_FLAGS,
    // Served on a socket of its own, straight into the Worker, as Cloudflare's edge serves
    // it: Miniflare's default socket goes through its entry Worker first (a JavaScript proxy
    // that rebuilds every request and response, 1.4 ms a request on this machine).
    // Port 0 everywhere: workerd binds a free port and reports it (the entry socket is unused).
    host: "127.0.0.1",
    port: 0,
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    bindings: options.bindings ?? {},
    durableObjects: { [DURABLE_OBJECT_BINDING]: { className: DURABLE_OBJECT_CLASS, useSQLite: true } },
    ...(storage === undefined ? {} : { durableObjectsPersist: storage }),
  });
  await mf.ready;
  const url = await mf.unsafeGetDirectURL();
  await waitForPort(Number(url.port));
  const stop = async () => {
    try {
      await disposeWithin(mf, 15_000);
    } finally {
      if (storage !== undefined) rmSync(storage, { recursive: true, force: true });
    }
  };
  return { namespace: gatewayNamespace(url), mf, url, stop };
}

/**
 * Dispose, but never hang a test file's teardown on it: a Miniflare whose
 * proxy still holds undisposed RPC stubs was seen to never settle dispose()
 * (the workerd process is then left to the test runner's own clean-up).
 */
async function disposeWithin(mf: Miniflare, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      console.warn(`Miniflare did not dispose within ${ms} ms; continuing`);
      resolve();
    }, ms);
  });
  try {
    await Promise.race([mf.dispose(), late]);
  } finally {
    clearTimeout(timer);
  }
}
