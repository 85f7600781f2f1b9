import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLockService } from "../../service/app.js";
import { newToken } from "../../src/index.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";
import { call, sleep } from "./helpers.js";

// A push adapter may answer a waiting acquire before its wait is over: the
// Upstash adapter does when its waiting slots are taken. The service still
// owes the caller the whole waitMs.
const TOKEN = "push-early-token";
let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
});
afterAll(async () => {
  await upstash?.stop();
});

describe("service over a push adapter that answers early", () => {
  test("a waiting acquire that finds no BLPOP slot is still granted within its waitMs, not refused at once", async () => {
    const adapter = upstashAdapter({ url: upstash.url, token: upstash.token, maxWaitingRequests: 1 });
    const app = createLockService({ adapter, tokens: TOKEN });
    const [a, b] = [`early-${newToken().slice(0, 8)}-a`, `early-${newToken().slice(0, 8)}-b`];
    const acquire = (key: string, body: unknown) =>
      call(app, "POST", `/v1/locks/${key}/acquire`, { token: TOKEN, body });
    const holders = await Promise.all([acquire(a, { ttlMs: 30_000 }), acquire(b, { ttlMs: 30_000 })]);
    expect(holders.map((answer) => answer.status)).toEqual([200, 200]);

    // The wait on a takes the one slot; the wait on b finds none.
    const waitA = acquire(a, { ttlMs: 5_000, waitMs: 20_000 });
    await sleep(200);
    const started = Date.now();
    const waitB = acquire(b, { ttlMs: 5_000, waitMs: 20_000 });
    await sleep(1_000);
    const release = (key: string, answer: { json: Record<string, unknown> }) =>
      call(app, "POST", `/v1/locks/${key}/release`, { token: TOKEN, body: { token: answer.json.token } });
    expect((await release(b, holders[1] ?? { json: {} })).status).toBe(200);
    const grantedB = await waitB;
    expect(grantedB.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(grantedB.json.fence).toBeGreaterThan(Number(holders[1]?.json.fence));

    expect((await release(a, holders[0] ?? { json: {} })).status).toBe(200);
    expect((await waitA).status).toBe(200);
  }, 60_000);
});
