import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLockService } from "../../service/app.js";
import { listen, type NodeService } from "../../service/platforms/node.js";
import { memoryAdapter, newToken } from "../../src/index.js";
import { type LockWorker, startLockWorker } from "../support/miniflare.js";
import { sleep } from "../support/timing.js";

// A waiting acquire with a client-proposed token T is withdrawn by a release
// with T, on every entry: the release answers 409 not_held, the waiter 409
// locked within a second, and T is never granted afterwards (the lock
// client's give-back after an aborted wait relies on this).
const TOKEN = "withdraw-token-0001";

interface Entry {
  url: string;
  stop(): Promise<void>;
}

const entries: Record<string, () => Promise<Entry>> = {
  "Node entry over memory (polling)": async () => {
    const service: NodeService = await listen(createLockService({ adapter: memoryAdapter(), tokens: TOKEN }), {
      port: 0,
    });
    return { url: service.url, stop: () => service.close() };
  },
  "Worker entry over the Durable Object (workerd)": async () => {
    const worker: LockWorker = await startLockWorker({ bindings: { EDGELOCK_API_TOKENS: TOKEN } });
    return { url: worker.url.href.replace(/\/$/, ""), stop: () => worker.stop() };
  },
};

async function post(base: string, path: string, body: unknown) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: JSON.parse(text) as Record<string, unknown> };
}

for (const [name, start] of Object.entries(entries)) {
  describe(name, () => {
    let entry: Entry;
    beforeAll(async () => {
      entry = await start();
    }, 60_000);
    afterAll(() => entry?.stop());

    test("a release with a queued acquire's token withdraws it: 409 not_held, the waiter 409 locked, T never granted", async () => {
      const key = `withdraw-${newToken()}`;
      const holder = await post(entry.url, `/v1/locks/${key}/acquire`, { ttlMs: 4_000 });
      expect(holder.status).toBe(200);
      const t = newToken();
      const waiting = post(entry.url, `/v1/locks/${key}/acquire`, { ttlMs: 20_000, waitMs: 20_000, token: t });
      await sleep(500);
      const released = await post(entry.url, `/v1/locks/${key}/release`, { token: t });
      const releasedAt = Date.now();
      expect(released).toEqual({ status: 409, json: { error: "not_held" } });
      const answer = await waiting;
      expect(answer.status).toBe(409);
      expect(answer.json.error).toBe("locked");
      expect(Date.now() - releasedAt).toBeLessThan(1_000);
      // The holder leaves: nobody may now hold the key as T.
      expect((await post(entry.url, `/v1/locks/${key}/release`, { token: holder.json.token })).status).toBe(200);
      await sleep(300);
      expect((await post(entry.url, `/v1/locks/${key}/extend`, { token: t, ttlMs: 1_000 })).status).toBe(409);
      const taken = await post(entry.url, `/v1/locks/${key}/acquire`, { ttlMs: 1_000 });
      expect(taken.status).toBe(200);
    }, 30_000);

    test("two waiting acquires with the same token are both withdrawn by one release", async () => {
      const key = `withdraw-twice-${newToken()}`;
      const holder = await post(entry.url, `/v1/locks/${key}/acquire`, { ttlMs: 4_000 });
      expect(holder.status).toBe(200);
      const t = newToken();
      const first = post(entry.url, `/v1/locks/${key}/acquire`, { ttlMs: 20_000, waitMs: 20_000, token: t });
      const second = post(entry.url, `/v1/locks/${key}/acquire`, { ttlMs: 20_000, waitMs: 20_000, token: t });
      await sleep(500);
      expect((await post(entry.url, `/v1/locks/${key}/release`, { token: t })).status).toBe(409);
      const answers = await Promise.all([first, second]);
      expect(answers.map((a) => a.status)).toEqual([409, 409]);
      expect((await post(entry.url, `/v1/locks/${key}/release`, { token: holder.json.token })).status).toBe(200);
      await sleep(300);
      expect((await post(entry.url, `/v1/locks/${key}/extend`, { token: t, ttlMs: 1_000 })).status).toBe(409);
    }, 30_000);
  });
}
