/**
 * `npx tsx bench/etcd-watch.ts`: how soon a waiter on a held etcd lock gets
 * it after the holder releases, through the lock client: sleeping between
 * attempts on the adapter's watch of the lock key (its `pollWait`, the
 * default) against the same adapter with the watch taken away, polling with
 * the default backoff and with a tight one. Prints one Markdown table
 * (docs/etcd.md). `ROUNDS=n` (default 40).
 */

import { etcdAdapter } from "../adapters/etcd/index.js";
import { createLocker, newToken } from "../src/index.js";
import type { LockAdapter } from "../src/types.js";
import { startEtcd } from "../test/support/etcd.js";
import { Meter, now, percentile } from "./measure.js";

const rounds = Number(process.env.ROUNDS ?? 40);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The adapter as it was before it watched: the lock client sleeps its own backoff. */
function withoutWatch(adapter: LockAdapter): LockAdapter {
  const { pollWait: _watch, ...rest } = adapter;
  return rest;
}

async function main() {
  const server = await startEtcd();
  try {
    const holder = etcdAdapter({ endpoint: server.url, prefix: "watch-bench/" });
    type Mode = "watch (default)" | "poll, default backoff 25–1000 ms" | "poll, backoff 20–100 ms";
    const modes: Mode[] = ["watch (default)", "poll, default backoff 25–1000 ms", "poll, backoff 20–100 ms"];
    const samples = new Map<Mode, { handoff: number[]; requests: number[] }>(
      modes.map((mode) => [mode, { handoff: [], requests: [] }]),
    );
    for (let round = 0; round < rounds; round++) {
      for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
        const key = `k-${newToken()}`;
        const holderToken = newToken();
        await holder.acquire({ key, token: holderToken, ttlMs: 30_000 });
        const meter = new Meter();
        const adapter = etcdAdapter({ endpoint: server.url, prefix: "watch-bench/", fetch: meter.fetch });
        const backoff = mode.includes("20–100") ? { baseMs: 20, maxMs: 100 } : undefined;
        const locker = createLocker({
          adapter: mode === "watch (default)" ? adapter : withoutWatch(adapter),
          ...(backoff ? { backoff } : {}),
        });
        const granted = locker.acquire(key, { ttlMs: 30_000, waitMs: 20_000 }).then((lease) => {
          const at = now();
          return lease.release().then(() => at);
        });
        await sleep(300 + Math.random() * 400);
        const releasedAt = now();
        await holder.release({ key, token: holderToken });
        const at = await granted;
        const entry = samples.get(mode);
        entry?.handoff.push(at - releasedAt);
        entry?.requests.push(meter.requests);
      }
    }
    console.log(`etcd 3.4.23, ${rounds} hand-offs per mode, holder releases 300–700 ms after the waiter starts\n`);
    console.log("| waiter | release → grant p50 | p99 | waiter's requests, its release included (median) |");
    console.log("| --- | --- | --- | --- |");
    for (const mode of modes) {
      const entry = samples.get(mode);
      if (!entry) continue;
      const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
      console.log(
        `| ${mode} | ${fmt(percentile(entry.handoff, 50))} | ${fmt(percentile(entry.handoff, 99))} | ${percentile(entry.requests, 50)} |`,
      );
    }
  } finally {
    await server.stop();
  }
}

await main();
