import { afterAll, beforeAll, expect, test } from "vitest";
import { etcdAdapter } from "../../adapters/etcd/index.js";
import { BackendError, createLocker, newToken } from "../../src/index.js";
import type { SemaphoreAdapter } from "../../src/types.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { expectLimitHolds } from "../support/permit-churn.js";
import { sleep } from "../support/timing.js";

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(() => etcd?.stop());

const b64 = (text: string) => Buffer.from(text).toString("base64");
const text = (value: string | undefined) => Buffer.from(value ?? "", "base64").toString();

/** A fetch that records request paths and can lose the answer of chosen requests (they still apply). */
function wire(lose: (path: string, n: number) => boolean = () => false) {
  const paths: string[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const path = new URL(String(input)).pathname;
    paths.push(path);
    const response = await fetch(input, init);
    if (lose(path, paths.length)) {
      await response.arrayBuffer();
      throw new TypeError("fetch failed (injected: answer lost after the request applied)");
    }
    return response;
  };
  return { paths, fetch: fetchImpl };
}

function semaphores(options: { prefix?: string; fetch?: typeof fetch } = {}): SemaphoreAdapter {
  const adapter = etcdAdapter({ endpoint: etcd.url, ...options });
  if (!adapter.semaphores) throw new Error("the etcd adapter has semaphores");
  return adapter.semaphores;
}

async function rawRange(key: string, end?: string) {
  const response = await fetch(`${etcd.url}/v3/kv/range`, {
    method: "POST",
    body: JSON.stringify({ key: b64(key), ...(end === undefined ? {} : { range_end: b64(end) }) }),
  });
  const answer = (await response.json()) as {
    kvs?: { key: string; value?: string; create_revision: string; lease?: string }[];
  };
  return answer.kvs ?? [];
}

async function rawPost(path: string, body: unknown) {
  const response = await fetch(`${etcd.url}${path}`, { method: "POST", body: JSON.stringify(body) });
  return (await response.json()) as Record<string, unknown>;
}

test("a permit is a slot key named by limit and index on its own lease, holding a hash of the token; its create revision is the fence", async () => {
  const sems = semaphores({ prefix: "layout/" });
  const key = `k-${newToken()}`;
  const [first, second] = [newToken(), newToken()];
  const a = await sems.acquire({ key, token: first, ttlMs: 10_000, owner: "worker é", limit: 3 });
  const b = await sems.acquire({ key, token: second, ttlMs: 10_000, limit: 3 });
  if (!a.ok || !b.ok) throw new Error("expected two grants");
  const slots = await rawRange(`layout/${key}\u0000sem\u0000`, `layout/${key}\u0000sem\u0001`);
  expect(slots).toHaveLength(2);
  for (const kv of slots) expect(text(kv.key).split("\u0000").pop()).toMatch(/^0003\/000[0-2]$/);
  expect(slots.map((kv) => Number(kv.create_revision)).sort()).toEqual([a.fence, b.fence].sort());
  expect(new Set(slots.map((kv) => kv.lease)).size).toBe(2);
  for (const kv of slots) {
    expect(text(kv.value)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(kv)).not.toContain(b64(first));
    expect(JSON.stringify(kv)).not.toContain(b64(second));
  }
  const mine = slots.find((kv) => Number(kv.create_revision) === a.fence);
  const name = text(mine?.key).split("\u0000").pop();
  // The token's holder key (by the same hash) names its slot and carries the owner, on the permit's lease.
  const [holderKey] = await rawRange(`layout/${key}\u0000semholder\u0000${text(mine?.value)}`);
  expect(text(holderKey?.value)).toBe(`${name}\nworker é`);
  expect(holderKey?.lease).toBe(mine?.lease);
  const state = await sems.inspect(key);
  expect(state.limit).toBe(3);
  expect(state.permits).toMatchObject([{ fence: a.fence, owner: "worker é" }, { fence: b.fence }]);
  // Keys of the semaphore and a lock of the same name live apart.
  const adapter = etcdAdapter({ endpoint: etcd.url, prefix: "layout/" });
  expect(await adapter.inspect(key)).toEqual({ held: false });
  expect(await sems.release({ key, token: first })).toEqual({ ok: true });
  expect(await sems.release({ key, token: second })).toEqual({ ok: true });
  expect(await rawRange(`layout/${key}\u0000`, `layout/${key}\u0001`)).toEqual([]);
});

test("a lost transaction answer is resolved by the retry on the remembered slot: same fence, one permit, one transaction more", async () => {
  let losing = false;
  const lossy = wire((path) => {
    const lose = losing && path === "/v3/kv/txn";
    if (lose) losing = false;
    return lose;
  });
  const sems = semaphores({ prefix: "lost/", fetch: lossy.fetch });
  const key = `k-${newToken()}`;
  const token = newToken();
  losing = true;
  await expect(sems.acquire({ key, token, ttlMs: 10_000, limit: 2 })).rejects.toBeInstanceOf(BackendError);
  const [applied] = await rawRange(`lost/${key}\u0000sem\u0000`, `lost/${key}\u0000sem\u0001`);
  const before = lossy.paths.length;
  const retry = await sems.acquire({ key, token, ttlMs: 10_000, limit: 2 });
  expect(retry).toMatchObject({ ok: true, fence: Number(applied?.create_revision) });
  expect(lossy.paths.slice(before)).toEqual(["/v3/lease/grant", "/v3/kv/txn"]);
  const after = await rawRange(`lost/${key}\u0000sem\u0000`, `lost/${key}\u0000sem\u0001`);
  expect(after).toHaveLength(1);
  expect(after[0]?.lease).not.toBe(applied?.lease);
  losing = true;
  await expect(sems.release({ key, token })).rejects.toBeInstanceOf(BackendError);
  expect(await sems.release({ key, token })).toEqual({ ok: false, reason: "not_held" });
  expect(await sems.inspect(key)).toEqual({ limit: null, permits: [] });
});

test("an instance that never saw the token finds its permit from the refused transaction's read: same fence, never a second permit", async () => {
  const key = `k-${newToken()}`;
  const token = newToken();
  const holder = semaphores({ prefix: "cold/" });
  const grant = await holder.acquire({ key, token, ttlMs: 10_000, limit: 4 });
  if (!grant.ok) throw new Error("expected a grant");
  // Many cold instances, each aiming its first attempt at a random slot: some miss the token's.
  for (let i = 0; i < 6; i++) {
    const cold = wire();
    const again = await semaphores({ prefix: "cold/", fetch: cold.fetch }).acquire({
      key,
      token,
      ttlMs: 10_000,
      limit: 4,
    });
    expect(again).toMatchObject({ ok: true, fence: grant.fence });
    expect(cold.paths.length).toBeLessThanOrEqual(3);
  }
  expect((await holder.inspect(key)).permits).toHaveLength(1);
  const cold = wire();
  const other = semaphores({ prefix: "cold/", fetch: cold.fetch });
  expect(await other.extend({ key, token, ttlMs: 5_000 })).toMatchObject({
    ok: true,
    fence: grant.fence,
    ttlMs: 5_000,
  });
  expect(cold.paths).toEqual(["/v3/lease/grant", "/v3/kv/txn", "/v3/kv/txn"]);
  expect(await semaphores({ prefix: "cold/" }).release({ key, token })).toEqual({ ok: true });
  expect(await holder.inspect(key)).toEqual({ limit: null, permits: [] });
});

test("another limit is refused in one transaction, also by a cold instance whose first attempt aims at a free slot", async () => {
  const key = `k-${newToken()}`;
  const two = await semaphores({ prefix: "limits/" }).acquire({ key, token: newToken(), ttlMs: 10_000, limit: 2 });
  if (!two.ok) throw new Error("expected a grant");
  for (const limit of [1, 3, 100]) {
    const cold = wire();
    const refused = await semaphores({ prefix: "limits/", fetch: cold.fetch }).acquire({
      key,
      token: newToken(),
      ttlMs: 10_000,
      limit,
    });
    expect(refused).toEqual({ ok: false, reason: "limit_mismatch", limit: 2 });
    expect(cold.paths).toEqual(["/v3/lease/grant", "/v3/kv/txn"]);
  }
  expect((await semaphores({ prefix: "limits/" }).inspect(key)).permits).toHaveLength(1);
});

test("a foreign key in the semaphore's range fails loudly instead of being counted or taken over", async () => {
  const key = `foreign-${newToken()}`;
  await rawPost("/v3/kv/put", { key: b64(`edgelock/${key}\u0000sem\u0000junk`), value: b64("not a permit") });
  const sems = semaphores();
  await expect(sems.acquire({ key, token: newToken(), ttlMs: 5_000, limit: 2 })).rejects.toBeInstanceOf(BackendError);
  await expect(sems.inspect(key)).rejects.toBeInstanceOf(BackendError);
});

test("extend honours a shorter TTL on a new lease: the permit frees at it", async () => {
  const sems = semaphores({ prefix: "shorten/" });
  const key = `k-${newToken()}`;
  const token = newToken();
  const grant = await sems.acquire({ key, token, ttlMs: 60_000, limit: 1 });
  if (!grant.ok) throw new Error("expected a grant");
  const shorter = await sems.extend({ key, token, ttlMs: 2_000 });
  expect(shorter).toMatchObject({ ok: true, fence: grant.fence, ttlMs: 2_000 });
  const [slot] = await rawRange(`shorten/${key}\u0000sem\u0000`, `shorten/${key}\u0000sem\u0001`);
  expect((await rawPost("/v3/lease/timetolive", { ID: slot?.lease })).grantedTTL).toBe("2");
  // Well within the old 60 s lease: only the new 2 s one can have freed it (etcd sweeps leases every 500 ms).
  await sleep(2_000 + 1_500);
  expect(await sems.inspect(key)).toEqual({ limit: null, permits: [] });
  expect(await sems.extend({ key, token, ttlMs: 2_000 })).toEqual({ ok: false, reason: "not_held" });
  const next = await sems.acquire({ key, token: newToken(), ttlMs: 5_000, limit: 1 });
  expect(next.ok && next.fence > grant.fence).toBe(true);
});

test("a waiting acquire renews one lease across its polls instead of granting one per poll", async () => {
  const key = `polls-${newToken()}`;
  const holderToken = newToken();
  const holder = semaphores({ prefix: "polls/" });
  expect((await holder.acquire({ key, token: holderToken, ttlMs: 10_000, limit: 1 })).ok).toBe(true);
  const counted = wire();
  const locker = createLocker({
    adapter: etcdAdapter({ endpoint: etcd.url, prefix: "polls/", fetch: counted.fetch }),
    backoff: { baseMs: 50, maxMs: 100 },
  });
  const waiting = locker.semaphore(key, { limit: 1 }).acquire({ ttlMs: 5_000, waitMs: 10_000 });
  await sleep(600);
  expect(await holder.release({ key, token: holderToken })).toEqual({ ok: true });
  const permit = await waiting;
  const count = (path: string) => counted.paths.filter((p) => p === path).length;
  expect(count("/v3/lease/grant")).toBe(1);
  expect(count("/v3/lease/keepalive")).toBeGreaterThanOrEqual(1);
  expect(count("/v3/lease/keepalive")).toBe(count("/v3/kv/txn") - 1);
  await permit.release();
});

test("6 separate adapter instances (no shared memory) under lost answers never exceed the limit", async () => {
  const key = `sem-instances-${newToken()}`;
  const limit = 2;
  await expectLimitHolds({
    semaphore: (i) =>
      createLocker({
        adapter: etcdAdapter({ endpoint: etcd.url, fetch: wire((_, n) => n % (5 + i) === 0).fetch }),
        backoff: { baseMs: 10, maxMs: 80 },
        onBackgroundError: () => {},
      }).semaphore(key, { limit }),
    limit,
    workers: 6,
    holdMs: 100,
    waitMs: 30_000,
  });
}, 90_000);
