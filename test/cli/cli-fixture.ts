import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLocker, type Locker } from "../../src/index.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";
import { cliBundle } from "./spawn-cli.js";

/** What one CLI test file runs against: the same for `run`, `sem` and `elect`. */
export interface CliBed {
  /** Upstash REST over a real redis-server. */
  readonly upstash: UpstashFixture;
  /** The environment that points a command at it. */
  readonly env: Record<string, string>;
  /** The built CLI. */
  readonly bundle: string;
  /** The test's own lock client: another process's view of the same Redis. */
  readonly locker: Locker;
  /** A scratch directory for the commands' markers and logs. */
  readonly dir: string;
  /** A fresh key, unique to this file's run. */
  key(label: string): string;
  /** Resolves once the endpoint has answered `more` requests beyond `from`. */
  requestsBeyond(from: number, more: number): Promise<void>;
}

/** Start the bed before the file's tests and stop it after; its fields are read inside tests. */
export function useCliBed(prefix: string): CliBed {
  let state: Pick<CliBed, "upstash" | "env" | "bundle" | "locker" | "dir"> | undefined;
  const ready = () => {
    if (!state) throw new Error("the CLI test bed is not started");
    return state;
  };
  let counter = 0;
  beforeAll(async () => {
    const [upstash, bundle] = await Promise.all([startUpstash(), cliBundle()]);
    state = {
      upstash,
      bundle,
      env: {
        EDGELOCK_BACKEND: "upstash",
        UPSTASH_REDIS_REST_URL: upstash.url,
        UPSTASH_REDIS_REST_TOKEN: upstash.token,
      },
      locker: createLocker({ adapter: upstashAdapter({ url: upstash.url, token: upstash.token }) }),
      dir: mkdtempSync(join(tmpdir(), `edgelock-cli-${prefix}-`)),
    };
  }, 60_000);
  afterAll(async () => {
    await state?.upstash.stop();
    if (state) rmSync(state.dir, { recursive: true, force: true });
  });
  return {
    get upstash() {
      return ready().upstash;
    },
    get env() {
      return ready().env;
    },
    get bundle() {
      return ready().bundle;
    },
    get locker() {
      return ready().locker;
    },
    get dir() {
      return ready().dir;
    },
    key: (label) => `${prefix}-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`,
    async requestsBeyond(from, more) {
      while (ready().upstash.requests() < from + more) await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
}
