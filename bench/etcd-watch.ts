/**
 * `npx tsx bench/etcd-watch.ts`: how soon a waiter on a held etcd lock gets
 * it after the holder releases, polling (edgelock's lock client, its default
 * backoff and a tight one) against waking on a `/v3/watch` DELETE event
 * streamed through `fetch`. Prints one Markdown table; the adapter polls, and
 * this is the measurement behind that choice (docs/etcd.md).
 * `ROUNDS=n` (default 40).
 */

import { base64 } from "../adapters/etcd/encoding.js";
import { etcdAdapter } from "../adapters/etcd/index.js";
import { createLocker, newToken } from "../src/index.js";
import { startEtcd } from "../test/support/etcd.js";
import { Meter, now, percentile } from "./measure.js";

const rounds = Number(process.env.ROUNDS ?? 40);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolve at the first DELETE event on `key` from `revision` on, read from the gateway's streamed answer. */
async function watchDelete(url: string, key: string, revision: number, fetchImpl: typeof fetch, signal: AbortSignal) {
  const response = await fetchImpl(`${url}/v3/watch`, {
    method: "POST",
    body: JSON.stringify({ create_request: { key: base64(key), start_revision: String(revision) } }),
    signal,
  });
  const reader = response.body?.getReader();
  if (!reader) throw new Error("no body");
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("watch ended");
    buffered += decoder.decode(value, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      const message = line ? (JSON.parse(line) as { result?: { events?: { type?: string }[] } }) : {};
      if (message.result?.events?.some((event) => event.type === "DELETE")) {
        await reader.cancel();
        return;
      }
      newline = buffered.indexOf("\n");
    }
  }
}

async function main() {
  const server = await startEtcd();
  try {
    const holder = etcdAdapter({ endpoint: server.url, prefix: "watch-bench/" });
    const revisionNow = async () => {
      const response = await fetch(`${server.url}/v3/kv/range`, {
        method: "POST",
        body: JSON.stringify({ key: "AA==" }),
      });
      return Number(((await response.json()) as { header: { revision: string } }).header.revision);
    };
    type Mode = "poll (default backoff 25–1000 ms)" | "poll (backoff 20–100 ms)" | "watch wake-up";
    const modes: Mode[] = ["poll (default backoff 25–1000 ms)", "poll (backoff 20–100 ms)", "watch wake-up"];
    const samples = new Map<Mode, { handoff: number[]; requests: number[] }>(
      modes.map((mode) => [mode, { handoff: [], requests: [] }]),
    );
    for (let round = 0; round < rounds; round++) {
      for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
        const key = `k-${newToken()}`;
        const holderToken = newToken();
        await holder.acquire({ key, token: holderToken, ttlMs: 30_000 });
        const meter = new Meter();
        const waiterAdapter = etcdAdapter({ endpoint: server.url, prefix: "watch-bench/", fetch: meter.fetch });
        let granted: Promise<number>;
        if (mode === "watch wake-up") {
          const controller = new AbortController();
          const from = (await revisionNow()) + 1;
          meter.requests = 0;
          const token = newToken();
          granted = (async () => {
            for (;;) {
              const woken = watchDelete(server.url, `watch-bench/${key}`, from, meter.fetch, controller.signal);
              const grant = await waiterAdapter.acquire({ key, token, ttlMs: 30_000 });
              if (grant.ok) return now();
              await woken;
            }
          })();
        } else {
          const backoff = mode.includes("20–100") ? { baseMs: 20, maxMs: 100 } : undefined;
          const locker = createLocker({ adapter: waiterAdapter, ...(backoff ? { backoff } : {}) });
          granted = locker.acquire(key, { ttlMs: 30_000, waitMs: 20_000 }).then(() => now());
        }
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
    console.log("| waiter | release → grant p50 | p99 | requests per hand-off (median) |");
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
