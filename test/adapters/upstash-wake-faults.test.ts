import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLocker, type Lease, newToken } from "../../src/index.js";
import { sleep, until } from "../support/timing.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

// A BLPOP is a wake-up hint, never a grant: when it fails, the waiter goes
// back to attempting (the lock client's polls); the acquire does not fail.
let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
});
afterAll(async () => {
  await upstash?.stop();
});

type Fault = "refused" | "lost";

/** A fetch whose first `count` BLPOPs fail: refused before sending, or their response lost once Redis answered. */
function failingBlpops(fault: Fault, count: number) {
  let failing = count;
  let sent = 0;
  const faulty: typeof fetch = async (input, init) => {
    if (!String(init?.body).startsWith('["blpop"')) return fetch(input, init);
    sent++;
    if (failing <= 0) return fetch(input, init);
    failing--;
    if (fault === "refused") throw new TypeError("fetch failed (injected: connection refused)");
    // Redis answers when the release pushes its token: the token is popped, and its answer lost.
    await (await fetch(input, init)).text();
    throw new TypeError("fetch failed (injected: response lost after the request was applied)");
  };
  return { fetch: faulty, sent: () => sent };
}

const key = () => `wake-faults-${newToken().slice(0, 10)}`;
const holdersLocker = () => createLocker({ adapter: upstashAdapter({ url: upstash.url, token: upstash.token }) });
const waitersLocker = (faulty: typeof fetch) =>
  createLocker({
    adapter: upstashAdapter({ url: upstash.url, token: upstash.token, fetch: faulty }),
    backoff: { baseMs: 50, maxMs: 200 },
    // No retries: the lock client's retry of a failed acquire must not be what hides the BLPOP's failure.
    retries: 0,
  });

describe.each<Fault>(["refused", "lost"])("upstash: a BLPOP that fails (%s)", (fault) => {
  test("leaves a lock waiter waiting: it is granted after the release, with no error", async () => {
    const wire = failingBlpops(fault, 1);
    const k = key();
    const holder = (await holdersLocker().tryAcquire(k, { ttlMs: 60_000 })) as Lease;
    const waiting = waitersLocker(wire.fetch).acquire(k, { ttlMs: 10_000, waitMs: 30_000 });
    // A refused BLPOP sends the waiter back to polling, then to blocking again.
    await until(() => wire.sent() >= (fault === "refused" ? 2 : 1), 10_000);
    await sleep(100);
    const released = Date.now();
    await holder.release();
    const lease = await waiting;

    expect(lease.fence).toBeGreaterThan(holder.fence);
    expect(Date.now() - released).toBeLessThan(5_000);
    await lease.release();
  }, 60_000);

  test("leaves a permit waiter waiting: it is granted after a release, with no error", async () => {
    const wire = failingBlpops(fault, 1);
    const k = key();
    const holder = await holdersLocker().semaphore(k, { limit: 1 }).tryAcquire({ ttlMs: 60_000 });
    const waiting = waitersLocker(wire.fetch).semaphore(k, { limit: 1 }).acquire({ ttlMs: 10_000, waitMs: 30_000 });
    await until(() => wire.sent() >= (fault === "refused" ? 2 : 1), 10_000);
    await sleep(100);
    const released = Date.now();
    await holder?.release();
    const permit = await waiting;

    expect(Date.now() - released).toBeLessThan(5_000);
    await permit.release();
  }, 60_000);
});

test("upstash: when every BLPOP fails, a wait still ends on time with LockTimeoutError", async () => {
  const wire = failingBlpops("refused", Number.POSITIVE_INFINITY);
  const k = key();
  const holder = (await holdersLocker().tryAcquire(k, { ttlMs: 60_000 })) as Lease;
  const started = Date.now();
  await expect(waitersLocker(wire.fetch).acquire(k, { waitMs: 1_500 })).rejects.toMatchObject({ code: "timeout" });
  // Each failed BLPOP costs a backoff, never a spin.
  expect(wire.sent()).toBeLessThan(1_500 / 50 + 2);
  expect(Date.now() - started).toBeLessThan(1_500 + 3_000);
  await holder.release();
}, 30_000);
