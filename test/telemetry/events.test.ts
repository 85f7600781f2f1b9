import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLocker, type LockEvent, LockLostError, LockTimeoutError } from "../../src/index.js";
import { freePort } from "../support/ports.js";
import { sleep } from "../support/timing.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
}, 60_000);
afterAll(() => upstash?.stop());

let counter = 0;
const key = (label: string) => `events-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

/** Two lock clients on separate adapters (as two instances of a deployment), each recording its events. */
function clients() {
  const make = () => {
    const events: LockEvent[] = [];
    const locker = createLocker({
      // A user's own client: waiting polls (over the adapter's own requester it would block in BLPOP),
      // so the refused attempts between polls are there to report.
      adapter: upstashAdapter({ redis: new Redis({ url: upstash.url, token: upstash.token, retry: { retries: 0 } }) }),
      onEvent: (event) => events.push(event),
      backoff: { baseMs: 20, maxMs: 80 },
    });
    return { locker, events };
  };
  return [make(), make()] as const;
}

describe("onEvent, against Upstash REST over redis-server", () => {
  test("an acquire-wait-release cycle: acquired, refused attempts as waited, released, with fences, durations and counts, never tokens", async () => {
    const [a, b] = clients();
    const k = key("cycle");
    const held = await a.locker.acquire(k, { ttlMs: 10_000 });
    const waiting = b.locker.acquire(k, { ttlMs: 10_000, waitMs: 20_000 });
    await sleep(300);
    await held.release();
    const next = await waiting;
    await next.extend();
    await next.release();

    expect(a.events.map((e) => e.type)).toEqual(["acquired", "released"]);
    expect(a.events[0]).toMatchObject({
      type: "acquired",
      key: k,
      backend: "upstash",
      fence: held.fence,
      ttlMs: 10_000,
      attempts: 1,
      requests: 1,
    });
    expect(a.events[1]).toMatchObject({ type: "released", key: k, fence: held.fence, requests: 1 });
    const heldMs = (a.events[1] as { heldMs: number }).heldMs;
    expect(heldMs).toBeGreaterThanOrEqual(250);

    const types = b.events.map((e) => e.type);
    const waited = b.events.filter((e) => e.type === "waited");
    expect(waited.length).toBeGreaterThanOrEqual(1);
    expect(types).toEqual([...waited.map(() => "waited"), "acquired", "extended", "released"]);
    waited.forEach((event, i) => {
      expect(event).toMatchObject({ key: k, attempt: i + 1, delayMs: expect.any(Number) });
      if (event.type === "waited") expect(event.retryAfterMs).toBeGreaterThan(0);
    });
    const acquired = b.events.find((e) => e.type === "acquired");
    expect(acquired).toMatchObject({ fence: next.fence, attempts: waited.length + 1, requests: waited.length + 1 });
    expect((acquired as { durationMs: number }).durationMs).toBeGreaterThanOrEqual(250);
    expect(b.events.find((e) => e.type === "extended")).toMatchObject({
      fence: next.fence,
      ttlMs: 10_000,
      requests: 1,
    });

    const text = JSON.stringify([...a.events, ...b.events]);
    expect(text).not.toContain(held.token);
    expect(text).not.toContain(next.token);
  }, 30_000);

  test("refused (held and timeout), inspected, force_released, and a lost lease after a break", async () => {
    const [a, b] = clients();
    const k = key("refused");
    const lease = await a.locker.acquire(k, { ttlMs: 3_000 });
    expect(await b.locker.tryAcquire(k)).toBeNull();
    await expect(b.locker.acquire(k, { waitMs: 100 })).rejects.toBeInstanceOf(LockTimeoutError);
    await b.locker.inspect(k);
    await b.locker.forceRelease(k);
    await expect(lease.extend()).rejects.toBeInstanceOf(LockLostError);

    const refused = b.events.filter((e) => e.type === "refused");
    expect(refused.map((e) => e.type === "refused" && e.reason)).toEqual(["held", "timeout"]);
    // Every attempt but the last is followed by a wait; how many fit in 100 ms depends on the machine's load.
    const waits = b.events.filter((e) => e.type === "waited").length;
    expect(refused[1]).toMatchObject({ attempts: waits + 1 });
    expect(b.events.find((e) => e.type === "inspected")).toMatchObject({ key: k, held: true, requests: 1 });
    expect(b.events.find((e) => e.type === "force_released")).toMatchObject({
      key: k,
      released: true,
      fence: lease.fence,
      requests: 2,
    });
    const tail = a.events.slice(1).map((e) => e.type);
    expect(tail).toEqual(["lost", "extend_failed"]);
    expect(a.events[1]).toMatchObject({ type: "lost", fence: lease.fence, reason: "refused" });
    expect(a.events[2]).toMatchObject({ type: "extend_failed", error: { name: "LockLostError", code: "lock_lost" } });
    // A lost lease's release is clean-up, not a second end of the hold.
    await lease.release();
    expect(a.events).toHaveLength(3);
  }, 30_000);

  test("a lease whose deadline passes without extension reports lost (expired)", async () => {
    const [a] = clients();
    const lease = await a.locker.acquire(key("expired"), { ttlMs: 200 });
    await new Promise((resolve) => lease.signal.addEventListener("abort", resolve));
    expect(a.events.at(-1)).toMatchObject({ type: "lost", reason: "expired", fence: lease.fence });
  });

  test("each failed backend request is a backend_error; the operation ends as failed; a throwing listener is reported, not thrown", async () => {
    const events: LockEvent[] = [];
    const reported: unknown[] = [];
    const closed = `http://127.0.0.1:${await freePort()}`;
    const locker = createLocker({
      adapter: upstashAdapter({ url: closed, token: "t" }),
      retries: 2,
      onEvent: (event) => {
        events.push(event);
        if (event.type === "failed") throw new Error("listener bug");
      },
      onBackgroundError: (error) => reported.push(error),
    });
    const k = key("down");
    await expect(locker.tryAcquire(k)).rejects.toMatchObject({ code: "backend_unavailable" });
    const errors = events.filter((e) => e.type === "backend_error");
    expect(errors.map((e) => e.type === "backend_error" && e.request)).toEqual([1, 2, 3]);
    expect(errors[0]).toMatchObject({ operation: "acquire", error: { code: "backend_unavailable" } });
    expect(events.at(-1)).toMatchObject({ type: "failed", operation: "acquire", requests: 3 });
    // Reported too: the clean-up release after a possibly applied acquire, which also failed.
    expect(reported.filter((error) => String(error).includes("listener bug"))).toHaveLength(1);
  }, 30_000);
});
