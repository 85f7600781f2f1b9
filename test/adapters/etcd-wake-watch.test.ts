import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { EtcdGateway } from "../../adapters/etcd/gateway.js";
import { etcdAdapter } from "../../adapters/etcd/index.js";
import { WakeWatches } from "../../adapters/etcd/wake-watch.js";
import { createLockService } from "../../service/app.js";
import { createLocker, LockAbortedError, newToken } from "../../src/index.js";
import type { AdapterPollWaitRequest } from "../../src/types.js";
import { call } from "../http/helpers.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { sleep } from "../support/timing.js";

// Waits between polls sleep on a watch of the lock key. Most cases give the
// sleep a fallback and a remaining wait of a minute, so that only etcd's
// event (or its refusal to watch) can end it within the test's time limit.
const PASSWORD = `pw-${newToken()}`;
let plain: EtcdServer;
let secured: EtcdServer;
beforeAll(async () => {
  [plain, secured] = await Promise.all([startEtcd(), startEtcd()]);
  await secured.enableAuth(PASSWORD);
}, 60_000);
afterAll(() => Promise.all([plain?.stop(), secured?.stop()]));

const MINUTE = 60_000;

/** A holder and a refused waiter on one key, each on its own adapter instance. */
async function refusedWaiter(options: { fetch?: typeof fetch; server?: EtcdServer; holderTtlMs?: number } = {}) {
  const server = options.server ?? plain;
  const auth = server === secured ? { username: "root", password: PASSWORD } : {};
  const holder = etcdAdapter({ endpoint: server.url, prefix: "wake/", ...auth });
  const waiter = etcdAdapter({
    endpoint: server.url,
    prefix: "wake/",
    ...auth,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const key = `k-${newToken()}`;
  const holderToken = newToken();
  const token = newToken();
  const held = await holder.acquire({ key, token: holderToken, ttlMs: options.holderTtlMs ?? 30_000 });
  if (!held.ok) throw new Error("expected the holder's grant");
  const refusal = await waiter.acquire({ key, token, ttlMs: 10_000 });
  if (refusal.ok) throw new Error("expected a refusal");
  const sleepRequest = (overrides: Partial<AdapterPollWaitRequest> = {}): AdapterPollWaitRequest => ({
    key,
    token,
    refusal,
    fallbackMs: MINUTE,
    remainingMs: MINUTE,
    ...overrides,
  });
  const pollWait = (overrides?: Partial<AdapterPollWaitRequest>) => {
    if (!waiter.pollWait) throw new Error("the etcd adapter has no pollWait");
    return waiter.pollWait(sleepRequest(overrides));
  };
  return { holder, waiter, key, holderToken, token, held, pollWait };
}

/** Resolves to how long `promise` took, in ms. */
async function timed(promise: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await promise;
  return Date.now() - started;
}

/** The paths of every request a `fetch` sends, and the signal of each watch. */
function recordingFetch(answer?: (path: string) => Response | undefined) {
  const paths: string[] = [];
  const watchSignals: AbortSignal[] = [];
  const recording: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    paths.push(path);
    if (path === "/v3/watch" && init?.signal) watchSignals.push(init.signal);
    return answer?.(path) ?? fetch(input, init);
  };
  return { fetch: recording, paths, watchSignals };
}

describe("etcd: a waiting acquire sleeps on a watch of the lock key", () => {
  test("a release before the watch even started wakes it: the watch replays from the refusal's revision", async () => {
    const { holder, waiter, key, holderToken, token, pollWait } = await refusedWaiter();
    expect(await holder.release({ key, token: holderToken })).toEqual({ ok: true });
    await pollWait();
    expect((await waiter.acquire({ key, token, ttlMs: 10_000 })).ok).toBe(true);
  });

  test("a release while it sleeps wakes it, with token auth too", async () => {
    for (const server of [plain, secured]) {
      const { holder, key, holderToken, pollWait } = await refusedWaiter({ server });
      let woken = false;
      const sleeping = pollWait().then(() => {
        woken = true;
      });
      await sleep(300);
      expect(woken).toBe(false);
      // Only etcd's event can end it: its fallback and remaining wait are a minute.
      await holder.release({ key, token: holderToken });
      await sleeping;
    }
  });

  test("a holder that dies is noticed: etcd's leader deletes the key when the lease runs out", async () => {
    const granted = Date.now();
    const { waiter, key, token, pollWait } = await refusedWaiter({ holderTtlMs: 2_000 });
    await pollWait();
    // Not before the 2 s lease ran out (counted from just before its grant).
    expect(Date.now() - granted).toBeGreaterThanOrEqual(1_900);
    expect((await waiter.acquire({ key, token, ttlMs: 10_000 })).ok).toBe(true);
  });

  test("an extend (a put on the same key) does not wake it; the release that follows does", async () => {
    const { holder, key, holderToken, pollWait } = await refusedWaiter();
    let woken = false;
    const sleeping = pollWait().then(() => {
      woken = true;
    });
    expect((await holder.extend({ key, token: holderToken, ttlMs: 20_000 })).ok).toBe(true);
    expect((await holder.acquire({ key, token: holderToken, ttlMs: 20_000 })).ok).toBe(true);
    await sleep(500);
    expect(woken).toBe(false);
    await holder.release({ key, token: holderToken });
    await sleeping;
  });

  test("a deletion followed by a new holder within the spread leaves it asleep, without a request", async () => {
    const recorder = recordingFetch();
    const gateway = new EtcdGateway(plain.url, recorder.fetch);
    // A fixed spread long enough that the next holder's grant always arrives within it.
    const watches = new WakeWatches(gateway, () => 2_000);
    const holder = etcdAdapter({ endpoint: plain.url, prefix: "spread/" });
    const key = `k-${newToken()}`;
    const first = newToken();
    const granted = await holder.acquire({ key, token: first, ttlMs: 30_000 });
    const refusal = await holder.acquire({ key, token: newToken(), ttlMs: 30_000 });
    if (!granted.ok || refusal.ok) throw new Error("expected a grant and a refusal");
    const revision = await currentRevision();
    const token = newToken();
    watches.refused(`spread/${key}`, token, String(revision));
    let woken = false;
    const sleeping = watches
      .wait({ key: `spread/${key}`, ownValue: token }, { key, token, refusal, fallbackMs: MINUTE, remainingMs: MINUTE })
      .then(() => {
        woken = true;
      });
    await holder.release({ key, token: first });
    const second = newToken();
    expect((await holder.acquire({ key, token: second, ttlMs: 30_000 })).ok).toBe(true);
    await sleep(2_500);
    expect(woken).toBe(false);
    await holder.release({ key, token: second });
    await sleeping;
    expect(recorder.paths).toEqual(["/v3/watch"]);
  });

  test("an abort ends the sleep at once with LockAbortedError and closes the watch", async () => {
    const recorder = recordingFetch();
    const { pollWait } = await refusedWaiter({ fetch: recorder.fetch });
    const controller = new AbortController();
    const sleeping = pollWait({ signal: controller.signal }).catch((e: unknown) => e);
    await sleep(300);
    controller.abort(new Error("caller gave up"));
    expect(await sleeping).toBeInstanceOf(LockAbortedError);
    expect(recorder.watchSignals).toHaveLength(1);
    expect(recorder.watchSignals[0]?.aborted).toBe(true);
  });

  test("it never outlasts the remaining wait (nor the refusal's retryAfterMs)", async () => {
    const { pollWait } = await refusedWaiter();
    // Well below the watch's own 5 s bound, which a sleep ignoring these would run to.
    const slept = await timed(pollWait({ remainingMs: 400 }));
    expect(slept).toBeGreaterThanOrEqual(390);
    expect(slept).toBeLessThan(2_400);
    const { pollWait: other } = await refusedWaiter();
    const short = await timed(other({ refusal: { ok: false, reason: "held", retryAfterMs: 300 } }));
    expect(short).toBeGreaterThanOrEqual(290);
    expect(short).toBeLessThan(2_300);
  });

  test("a watch etcd refuses, or one that ends without an event, falls back to the lock client's backoff", async () => {
    for (const answer of [
      () => new Response('{"error":"unavailable"}', { status: 503 }),
      () => new Response("", { status: 200 }),
    ]) {
      const recorder = recordingFetch((path) => (path === "/v3/watch" ? answer() : undefined));
      const { pollWait } = await refusedWaiter({ fetch: recorder.fetch });
      const slept = await timed(pollWait({ fallbackMs: 400 }));
      expect(slept).toBeGreaterThanOrEqual(390);
      expect(slept).toBeLessThan(MINUTE / 2);
      expect(recorder.paths.filter((path) => path === "/v3/watch")).toHaveLength(1);
    }
  });

  test("a watch etcd cancels for its auth token (not a compaction) falls back too, rather than waking at once", async () => {
    const spoiled: typeof fetch = (input, init) => {
      if (new URL(String(input)).pathname !== "/v3/watch") return fetch(input, init);
      const headers = new Headers(init?.headers);
      headers.set("authorization", "expired.token");
      return fetch(input, { ...init, headers });
    };
    const { pollWait } = await refusedWaiter({ server: secured, fetch: spoiled });
    const slept = await timed(pollWait({ fallbackMs: 400 }));
    expect(slept).toBeGreaterThanOrEqual(390);
    expect(slept).toBeLessThan(MINUTE / 2);
  });

  test("a start revision etcd has compacted away ends the sleep: the next attempt decides", async () => {
    const { pollWait } = await refusedWaiter();
    for (let i = 0; i < 3; i++) await rawPost("/v3/kv/put", { key: btoa(`other-${i}`), value: btoa("x") });
    await rawPost("/v3/kv/compaction", { revision: String(await currentRevision()) });
    await pollWait();
  });

  test("through the lock client: one watch and no polls while the holder keeps the lock, then the grant", async () => {
    const recorder = recordingFetch();
    const holder = createLocker({ adapter: etcdAdapter({ endpoint: plain.url, prefix: "client/" }) });
    const waiter = createLocker({
      adapter: etcdAdapter({ endpoint: plain.url, prefix: "client/", fetch: recorder.fetch }),
    });
    const held = await holder.tryAcquire("job", { ttlMs: 30_000 });
    if (!held) throw new Error("expected a lease");
    const waiting = waiter.acquire("job", { ttlMs: 10_000, waitMs: 30_000 });
    await watchOpened(recorder.paths);
    await sleep(800);
    expect(recorder.paths).toEqual(["/v3/lease/grant", "/v3/kv/txn", "/v3/watch"]);
    const releasing = Date.now();
    await held.release();
    const lease = await waiting;
    expect(recorder.paths).toEqual(["/v3/lease/grant", "/v3/kv/txn", "/v3/watch", "/v3/lease/keepalive", "/v3/kv/txn"]);
    expect(lease.fence).toBeGreaterThan(held.fence);
    // Woken by the release: the watch's own 5 s bound would end it at least 4 s after the release.
    expect(Date.now() - releasing).toBeLessThan(3_000);
    await lease.release();
  });
});

describe("etcd: a waiting acquire through the HTTP service sleeps on the same watch", () => {
  test("the service's wait sleeps on one watch (at most 1 s, ADAPTER_SLEEP_MAX_MS) and is woken by the release", async () => {
    const recorder = recordingFetch();
    const TOKEN = `svc-${newToken()}`;
    const adapter = etcdAdapter({ endpoint: plain.url, prefix: "service/", fetch: recorder.fetch });
    const app = createLockService({ adapter, tokens: TOKEN });
    const post = (path: string, body: unknown) => call(app, "POST", path, { token: TOKEN, body });
    const held = await post("/v1/locks/job/acquire", { ttlMs: 30_000 });
    expect(held.status).toBe(200);
    const before = recorder.paths.length;
    const waiting = post("/v1/locks/job/acquire", { ttlMs: 10_000, waitMs: 20_000 });
    await watchOpened(recorder.paths);
    await sleep(300);
    expect(recorder.paths.slice(before)).toEqual(["/v3/lease/grant", "/v3/kv/txn", "/v3/watch"]);
    const releasing = Date.now();
    expect((await post("/v1/locks/job/release", { token: held.json.token })).status).toBe(200);
    const granted = await waiting;
    expect(granted.status).toBe(200);
    expect(Number(granted.json.fence)).toBeGreaterThan(Number(held.json.fence));
    // Soon after the release (woken by it; the adapter cases above prove the wake-up itself).
    expect(Date.now() - releasing).toBeLessThan(3_000);
    expect((await post("/v1/locks/job/release", { token: granted.json.token })).status).toBe(200);
  });
});

/** Resolves once a watch has been sent: an ordering signal instead of a sleep. */
async function watchOpened(paths: readonly string[]): Promise<void> {
  for (let i = 0; i < 200 && !paths.includes("/v3/watch"); i++) await sleep(50);
  expect(paths).toContain("/v3/watch");
}

async function rawPost(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${plain.url}${path}`, { method: "POST", body: JSON.stringify(body) });
  return (await response.json()) as Record<string, unknown>;
}

async function currentRevision(): Promise<number> {
  const answer = await rawPost("/v3/kv/range", { key: btoa("\u0000") });
  return Number((answer.header as { revision: string }).revision);
}
