import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { etcdAdapter } from "../../adapters/etcd/index.js";
import {
  BackendError,
  BackendRejectedError,
  createLocker,
  EdgelockError,
  InvalidArgumentError,
  newToken,
} from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";
import { countingFetch } from "../support/counting-fetch.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";

const PASSWORD = `pw-${newToken()}`;
let plain: EtcdServer;
let secured: EtcdServer;
let jwtSecured: EtcdServer;
beforeAll(async () => {
  // Auth tokens that expire after 2 s idle: the suite's waits make the adapter re-authenticate for real.
  [plain, secured, jwtSecured] = await Promise.all([
    startEtcd(),
    startEtcd({ authTokenTtlSeconds: 2 }),
    startEtcd({ jwt: true }),
  ]);
  await Promise.all([secured.enableAuth(PASSWORD), jwtSecured.enableAuth(PASSWORD)]);
}, 60_000);
afterAll(() => Promise.all([plain?.stop(), secured?.stop(), jwtSecured?.stop()]));

// An acquire grants a lease first (no transaction can), then grants the lock
// and its fence (the key's create revision) in one transaction.
describeConformance({
  name: "etcd",
  preGrantRequests: 1,
  create: ({ fetch }) => etcdAdapter({ endpoint: plain.url, fetch }),
});

describeConformance({
  name: "etcd with token auth",
  preGrantRequests: 1,
  create: ({ fetch }) => etcdAdapter({ endpoint: secured.url, username: "root", password: PASSWORD, fetch }),
});

/** The gateway's own view of a key, bypassing the adapter. */
async function rawGet(server: EtcdServer, key: string, token?: string) {
  const response = await fetch(`${server.url}/v3/kv/range`, {
    method: "POST",
    headers: token ? { authorization: token } : {},
    body: JSON.stringify({ key: Buffer.from(key).toString("base64") }),
  });
  const answer = (await response.json()) as { kvs?: { value?: string; create_revision?: string; lease?: string }[] };
  return answer.kvs?.[0];
}

async function rawPost(server: EtcdServer, path: string, body: unknown) {
  const response = await fetch(`${server.url}${path}`, { method: "POST", body: JSON.stringify(body) });
  return (await response.json()) as Record<string, unknown>;
}

describe("etcd specifics", () => {
  const adapter = (options: { prefix?: string; fetch?: typeof fetch } = {}) =>
    etcdAdapter({ endpoint: plain.url, ...options });

  test("the fence is the key's create revision: it rises across deletes and other keys' writes, and a retry keeps it", async () => {
    const a = adapter({ prefix: "fences/" });
    const key = `k-${newToken()}`;
    const first = newToken();
    const grant = await a.acquire({ key, token: first, ttlMs: 10_000, owner: "w1" });
    if (!grant.ok) throw new Error("expected a grant");
    const raw = await rawGet(plain, `fences/${key}`);
    expect(raw?.create_revision).toBe(String(grant.fence));
    // A retry moves the key to a new lease (a put: mod revision moves), fence unchanged.
    const retry = await a.acquire({ key, token: first, ttlMs: 10_000, owner: "w1" });
    expect(retry).toMatchObject({ ok: true, fence: grant.fence });
    const moved = await rawGet(plain, `fences/${key}`);
    expect(moved?.create_revision).toBe(String(grant.fence));
    expect(moved?.lease).not.toBe(raw?.lease);
    // Unrelated writes bump the cluster revision; the next holder's fence is above them all.
    const other = await rawPost(plain, "/v3/kv/put", { key: Buffer.from("unrelated").toString("base64") });
    const otherRevision = Number((other.header as { revision: string }).revision);
    expect((await a.release({ key, token: first })).ok).toBe(true);
    const second = await a.acquire({ key, token: newToken(), ttlMs: 10_000 });
    if (!second.ok) throw new Error("expected a grant");
    expect(second.fence).toBeGreaterThan(otherRevision);
    expect(second.fence).toBeGreaterThan(grant.fence);
  });

  test("keys are namespaced by prefix; the token is the guard and the owner sits in a sibling key", async () => {
    const a = adapter({ prefix: "app-a/" });
    const b = adapter({ prefix: "app-b/" });
    const key = `job-${newToken()}`;
    const token = newToken();
    expect((await a.acquire({ key, token, ttlMs: 5_000, owner: "worker é" })).ok).toBe(true);
    expect((await b.acquire({ key, token: newToken(), ttlMs: 5_000 })).ok).toBe(true);
    const lock = await rawGet(plain, `app-a/${key}`);
    expect(Buffer.from(lock?.value ?? "", "base64").toString()).toBe(token);
    const owner = await rawGet(plain, `app-a/${key}\u0000owner`);
    expect(Buffer.from(owner?.value ?? "", "base64").toString()).toBe("worker é");
    expect(owner?.lease).toBe(lock?.lease);
    const state = await a.inspect(key);
    expect(state).toMatchObject({ held: true, owner: "worker é" });
    expect(JSON.stringify(state)).not.toContain(token);
  });

  test("TTLs are whole seconds, rounded up; etcd raises them to its minimum and the grant says so", async () => {
    const a = adapter();
    const grants = [];
    for (const ttlMs of [1, 2_001, 4_000]) {
      const grant = await a.acquire({ key: `ttl-${newToken()}`, token: newToken(), ttlMs });
      if (!grant.ok) throw new Error("expected a grant");
      grants.push(grant.ttlMs);
    }
    // Default etcd: minimum TTL 1.5 × the 1 s election timeout, i.e. 2 s.
    expect(grants).toEqual([2_000, 3_000, 4_000]);
  });

  test("extend honours a shorter and a longer TTL exactly, to the second, on a new lease", async () => {
    const a = adapter({ prefix: "extend/" });
    const key = `k-${newToken()}`;
    const token = newToken();
    const grant = await a.acquire({ key, token, ttlMs: 30_000 });
    if (!grant.ok) throw new Error("expected a grant");
    const shorter = await a.extend({ key, token, ttlMs: 5_000 });
    expect(shorter).toMatchObject({ ok: true, fence: grant.fence, ttlMs: 5_000 });
    const lease = (await rawGet(plain, `extend/${key}`))?.lease;
    const ttl = await rawPost(plain, "/v3/lease/timetolive", { ID: lease });
    expect(ttl.grantedTTL).toBe("5");
    const longer = await a.extend({ key, token, ttlMs: 60_500 });
    expect(longer).toMatchObject({ ok: true, fence: grant.fence, ttlMs: 61_000 });
    const state = await a.inspect(key);
    if (!state.held) throw new Error("expected the lock held");
    expect(state.expiresAt).toBeGreaterThan(Date.now() + 55_000);
  });

  test("a lock extended to a shorter TTL really frees at the shorter TTL", async () => {
    const a = adapter({ prefix: "shorten/" });
    const key = `k-${newToken()}`;
    const token = newToken();
    const grant = await a.acquire({ key, token, ttlMs: 60_000 });
    if (!grant.ok) throw new Error("expected a grant");
    const shorter = await a.extend({ key, token, ttlMs: 2_000 });
    if (!shorter.ok) throw new Error("expected the extend to succeed");
    // Well within the old 60 s lease: only the new 2 s one can have freed it (etcd sweeps leases every 500 ms).
    await new Promise((resolve) => setTimeout(resolve, shorter.ttlMs + 1_500));
    expect(await a.inspect(key)).toEqual({ held: false });
    const next = await a.acquire({ key, token: newToken(), ttlMs: 5_000 });
    expect(next.ok && next.fence > grant.fence).toBe(true);
  });

  test("the guarded value sits in a lease-less sibling key; an instance that never saw the token writes in one more request", async () => {
    const { fetch: counting, state } = countingFetch();
    const holder = adapter({ prefix: "gv/" });
    const other = adapter({ prefix: "gv/", fetch: counting });
    const key = `k-${newToken()}`;
    const token = newToken();
    const grant = await holder.acquire({ key, token, ttlMs: 10_000 });
    if (!grant.ok) throw new Error("expected a grant");
    const first = await other.writeValue?.({ key, token, json: '{"a":1}', writeId: newToken() });
    expect(first).toEqual({ ok: true, version: 1, fence: grant.fence });
    expect(state.requests).toBe(2);
    const second = await other.writeValue?.({ key, token, json: null, writeId: newToken(), expectedVersion: 1 });
    expect(second).toEqual({ ok: true, version: 2, fence: grant.fence });
    expect(state.requests).toBe(3);
    const raw = await rawGet(plain, `gv/${key}\u0000value`);
    expect(raw?.lease).toBeUndefined();
    expect(Buffer.from(raw?.value ?? "", "base64").toString()).toBe(String(grant.fence));
    expect(JSON.stringify(raw)).not.toContain(Buffer.from(token).toString("base64"));
    // Broken by its fence, the holder can no longer write; the value stays.
    expect(await holder.forceRelease?.({ key, fence: grant.fence })).toEqual({ ok: true });
    expect(await holder.writeValue?.({ key, token, json: "1", writeId: newToken() })).toEqual({
      ok: false,
      reason: "not_held",
    });
    expect(await holder.readValue?.(key)).toEqual({ json: undefined, version: 2, fence: grant.fence });
  });

  test("a waiting acquire renews one lease across its polls instead of granting one per poll", async () => {
    const paths: string[] = [];
    let firstLease: string | undefined;
    const counting: typeof fetch = async (input, init) => {
      const path = new URL(String(input)).pathname;
      paths.push(path);
      const response = await fetch(input, init);
      if (path === "/v3/lease/grant" && firstLease === undefined) {
        firstLease = ((await response.clone().json()) as { ID: string }).ID;
      }
      return response;
    };
    const key = `polls-${newToken()}`;
    const holder = adapter({ prefix: "polls/" });
    const holderToken = newToken();
    expect((await holder.acquire({ key, token: holderToken, ttlMs: 10_000 })).ok).toBe(true);
    const locker = createLocker({
      adapter: adapter({ prefix: "polls/", fetch: counting }),
      backoff: { baseMs: 50, maxMs: 100 },
    });
    const waiting = locker.acquire(key, { ttlMs: 5_000, waitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await holder.release({ key, token: holderToken })).ok).toBe(true);
    const lease = await waiting;
    const count = (path: string) => paths.filter((p) => p === path).length;
    expect(count("/v3/lease/grant")).toBe(1);
    expect(count("/v3/lease/keepalive")).toBeGreaterThanOrEqual(1);
    expect(count("/v3/lease/keepalive")).toBe(count("/v3/kv/txn") - 1);
    expect((await rawGet(plain, `polls/${key}`))?.lease).toBe(firstLease);
    await lease.release();
  });

  test("a lost transaction answer (the lease was granted, the key written) is resolved by the retry: same fence, one holder", async () => {
    let losing = "";
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (losing !== "" && new URL(String(input)).pathname === "/v3/kv/txn") {
        await response.arrayBuffer();
        losing = "";
        throw new TypeError("fetch failed (test: answer lost after the transaction applied)");
      }
      return response;
    };
    const locker = createLocker({ adapter: adapter({ prefix: "lost-txn/", fetch: lossy }) });
    const key = `k-${newToken()}`;
    losing = "acquire";
    const lease = await locker.tryAcquire(key, { ttlMs: 10_000 });
    if (!lease) throw new Error("the caller holds the lock but was told it did not");
    expect(String(lease.fence)).toBe((await rawGet(plain, `lost-txn/${key}`))?.create_revision);
    expect(await locker.tryAcquire(key, { ttlMs: 10_000 })).toBeNull();
    losing = "extend";
    await lease.extend(20_000);
    expect(lease.fence).toBe(Number((await rawGet(plain, `lost-txn/${key}`))?.create_revision));
    losing = "release";
    await lease.release();
    expect(await rawGet(plain, `lost-txn/${key}`)).toBeUndefined();
  });

  test("token auth: without credentials or with a wrong password the server refuses, with no token in the error", async () => {
    const key = `auth-${newToken()}`;
    const token = newToken();
    const anonymous = etcdAdapter({ endpoint: secured.url });
    const anonymousError = await anonymous.acquire({ key, token, ttlMs: 5_000 }).catch((e: unknown) => e);
    expect(anonymousError).toBeInstanceOf(BackendRejectedError);
    const wrong = etcdAdapter({ endpoint: secured.url, username: "root", password: "not-it" });
    const wrongError = await wrong.acquire({ key, token, ttlMs: 5_000 }).catch((e: unknown) => e);
    expect(wrongError).toBeInstanceOf(BackendRejectedError);
    expect(String((wrongError as Error).message)).not.toContain("not-it");
    for (const error of [anonymousError, wrongError]) expect(JSON.stringify(error)).not.toContain(token);
    const right = etcdAdapter({ endpoint: secured.url, username: "root", password: PASSWORD });
    expect((await right.acquire({ key, token, ttlMs: 5_000 })).ok).toBe(true);
    expect(await right.inspect(key)).toMatchObject({ held: true });
    expect((await right.release({ key, token })).ok).toBe(true);
  });

  test("token auth (JWT): a user whose role covers only the prefix locks there, is refused elsewhere, and survives role changes", async () => {
    const {
      fetch: counting,
      state: { paths },
    } = countingFetch();
    const root = etcdAdapter({ endpoint: jwtSecured.url, username: "root", password: PASSWORD, fetch: counting });
    expect(await root.inspect("before")).toEqual({ held: false });
    await jwtSecured.addPrefixUser(PASSWORD, { name: "locks", password: "locks-pw", prefix: "scoped/" });
    // A JWT issued before a user or role change is refused ("revision of auth store is old"): a fresh one is fetched.
    expect(await root.inspect("after")).toEqual({ held: false });
    expect(paths.slice(2)).toEqual(["/v3/kv/txn", "/v3/auth/authenticate", "/v3/kv/txn"]);

    const options = { endpoint: jwtSecured.url, username: "locks", password: "locks-pw" };
    const scoped = etcdAdapter({ ...options, prefix: "scoped/" });
    const key = `job-${newToken()}`;
    const token = newToken();
    expect((await scoped.acquire({ key, token, ttlMs: 5_000, owner: "w" })).ok).toBe(true);
    expect(await scoped.inspect(key)).toMatchObject({ held: true, owner: "w" });
    expect((await scoped.extend({ key, token, ttlMs: 6_000 })).ok).toBe(true);
    expect(await scoped.release({ key, token })).toEqual({ ok: true });
    const outside = etcdAdapter({ ...options, prefix: "other/" });
    await expect(outside.acquire({ key, token, ttlMs: 5_000 })).rejects.toBeInstanceOf(BackendRejectedError);
  });

  test("token auth: concurrent calls share one authentication", async () => {
    const {
      fetch: counting,
      state: { paths },
    } = countingFetch();
    const a = etcdAdapter({ endpoint: secured.url, username: "root", password: PASSWORD, fetch: counting });
    const states = await Promise.all(Array.from({ length: 5 }, (_, i) => a.inspect(`shared-auth-${i}`)));
    expect(states).toEqual(Array.from({ length: 5 }, () => ({ held: false })));
    expect(paths.filter((path) => path === "/v3/auth/authenticate")).toHaveLength(1);
  });

  test("token auth: an authentication slower than the request timeout is raced by the retry, not thrown away", async () => {
    // etcd hashes the password before it answers: on a busy member that can outlast an attempt's time limit.
    let authentications = 0;
    const slowAuth: typeof fetch = async (input, init) => {
      if (new URL(String(input)).pathname === "/v3/auth/authenticate") {
        authentications++;
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      return fetch(input, init);
    };
    const adapter = etcdAdapter({ endpoint: secured.url, username: "root", password: PASSWORD, fetch: slowAuth });
    // Each attempt is shorter than one authentication: only one kept across the attempts can finish.
    const locker = createLocker({ adapter, requestTimeoutMs: 1_500, retries: 2 });
    const lease = await locker.tryAcquire(`slow-auth-${newToken()}`, { ttlMs: 5_000 });
    expect(lease).not.toBeNull();
    expect(authentications).toBeGreaterThan(1);
    await lease?.release();
  });

  test("token auth: a fresh token that expired before its first use is a retryable failure, not a refusal", async () => {
    // The answers of the first two authentications arrive after the token's 2 s TTL (and etcd's 1 s sweep).
    let authentications = 0;
    const lateAuth: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (new URL(String(input)).pathname === "/v3/auth/authenticate" && ++authentications <= 2) {
        await new Promise((resolve) => setTimeout(resolve, 3_500));
      }
      return response;
    };
    const adapter = etcdAdapter({ endpoint: secured.url, username: "root", password: PASSWORD, fetch: lateAuth });
    // The first attempt's token and its one replacement are both refused; the locker's retry gets a third.
    const locker = createLocker({ adapter, requestTimeoutMs: 15_000 });
    expect(await locker.inspect(`late-auth-${newToken()}`)).toEqual({ held: false });
    expect(authentications).toBe(3);
  }, 60_000);

  test("token auth: a token that expired at etcd is replaced by a fresh one", async () => {
    const {
      fetch: counting,
      state: { paths },
    } = countingFetch();
    const a = etcdAdapter({ endpoint: secured.url, username: "root", password: PASSWORD, fetch: counting });
    const key = `expired-token-${newToken()}`;
    expect(await a.inspect(key)).toEqual({ held: false });
    // Well past the 2 s TTL (etcd sweeps expired tokens every second).
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await a.inspect(key)).toEqual({ held: false });
    expect(paths).toEqual(["/v3/auth/authenticate", "/v3/kv/txn", "/v3/kv/txn", "/v3/auth/authenticate", "/v3/kv/txn"]);
  });

  test("token auth: a token etcd no longer accepts is replaced by a fresh one, once", async () => {
    const seen: (string | null)[] = [];
    const paths: string[] = [];
    let spoil = false;
    const fetchImpl: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      paths.push(new URL(String(input)).pathname);
      if (spoil && headers.has("authorization")) {
        // As if the server restarted or the token's TTL ran out.
        headers.set("authorization", "expired.token");
        spoil = false;
      }
      seen.push(headers.get("authorization"));
      return fetch(input, { ...init, headers });
    };
    const a = etcdAdapter({ endpoint: secured.url, username: "root", password: PASSWORD, fetch: fetchImpl });
    const key = `reauth-${newToken()}`;
    expect(await a.inspect(key)).toEqual({ held: false });
    expect(paths).toEqual(["/v3/auth/authenticate", "/v3/kv/txn"]);
    spoil = true;
    expect(await a.inspect(key)).toEqual({ held: false });
    expect(paths.slice(2)).toEqual(["/v3/kv/txn", "/v3/auth/authenticate", "/v3/kv/txn"]);
    expect(seen[2]).toBe("expired.token");
    expect(seen[4]).not.toBe(seen[1]);
  });

  test("errors carry no token: a held lock, a server gone away, a refused request", async () => {
    const token = newToken();
    const key = `errors-${newToken()}`;
    const a = adapter();
    const gone = etcdAdapter({ endpoint: "http://127.0.0.1:9" });
    const errors = await Promise.all([
      gone.acquire({ key, token, ttlMs: 5_000 }).catch((e: unknown) => e),
      gone.release({ key, token }).catch((e: unknown) => e),
      etcdAdapter({ endpoint: secured.url })
        .extend({ key, token, ttlMs: 5_000 })
        .catch((e: unknown) => e),
    ]);
    expect(errors[0]).toBeInstanceOf(BackendError);
    expect((errors[0] as BackendError).maybeApplied).toBe(true);
    expect(errors[2]).toBeInstanceOf(BackendRejectedError);
    for (const error of errors) {
      expect(error).toBeInstanceOf(EdgelockError);
      expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain(token);
    }
    expect((await a.acquire({ key, token, ttlMs: 5_000 })).ok).toBe(true);
    expect(await a.acquire({ key, token: newToken(), ttlMs: 5_000 })).toEqual({ ok: false, reason: "held" });
  });

  test("a foreign key at the lock's name (no lease) fails loudly instead of being taken over", async () => {
    const key = `foreign-${newToken()}`;
    await rawPost(plain, "/v3/kv/put", {
      key: Buffer.from(`edgelock/${key}`).toString("base64"),
      value: Buffer.from("not a lock").toString("base64"),
    });
    const a = adapter();
    expect(await a.acquire({ key, token: newToken(), ttlMs: 5_000 })).toEqual({ ok: false, reason: "held" });
    await expect(a.inspect(key)).rejects.toBeInstanceOf(BackendError);
  });

  test("every request honours the AbortSignal", async () => {
    const a = adapter();
    const controller = new AbortController();
    controller.abort(new Error("caller gave up"));
    const error = await a
      .acquire({ key: `abort-${newToken()}`, token: newToken(), ttlMs: 5_000, signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    await expect(a.inspect(`abort-${newToken()}`, { signal: controller.signal })).rejects.toBeInstanceOf(BackendError);
  });

  test("options are validated before any request", () => {
    const bad: unknown[] = [
      undefined,
      {},
      { endpoint: "etcd:2379" },
      { endpoint: "ftp://127.0.0.1:2379" },
      { endpoint: "http://u:p@127.0.0.1:2379" },
      { endpoint: "http://127.0.0.1:2379?x=1" },
      { endpoint: "http://127.0.0.1:2379", prefix: "a\nb" },
      { endpoint: "http://127.0.0.1:2379", prefix: 3 },
      { endpoint: "http://127.0.0.1:2379", username: "root" },
      { endpoint: "http://127.0.0.1:2379", password: "x" },
      { endpoint: "http://127.0.0.1:2379", username: "", password: "x" },
      { endpoint: "http://127.0.0.1:2379", fetch: "nope" },
    ];
    for (const options of bad) {
      expect(() => etcdAdapter(options as Parameters<typeof etcdAdapter>[0])).toThrow(InvalidArgumentError);
    }
    expect(() => createLocker({ adapter: adapter() })).not.toThrow();
  });
});
