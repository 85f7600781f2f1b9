import { describe, expect, test } from "vitest";
import { azureBlobAdapter, leaseIdFor } from "../../adapters/azure-blob/index.js";
import { leaseSeconds } from "../../adapters/azure-blob/lease-seconds.js";
import { BackendError, createLocker, InvalidArgumentError, type LockAdapter, newToken } from "../../src/index.js";
import { describeConformance, LOCK_SECTIONS } from "../conformance/index.js";
import { countingFetch } from "../support/counting-fetch.js";
import { sleep } from "../support/timing.js";
import { azureBlobTarget, CONTAINER, useAzurite } from "./azure-blob-fixture.js";

const fixture = useAzurite();
const { adapter, sdk } = fixture;

const blobName = (key: string) => `locks/${Buffer.from(key, "utf8").toString("base64url")}`;

/** A fetch that counts requests and can lose the answer of the n-th one (the request still applies). */
const wire = (loseNth?: number) => countingFetch({ loseNth });

// The lock half of the suite; azure-blob-coordination.test.ts runs the other half.
describeConformance(azureBlobTarget(fixture), LOCK_SECTIONS);

describe("azure-blob specifics", () => {
  test("a lease taken by the adapter is seen as leased by @azure/storage-blob, with the fence in metadata", async () => {
    const key = `sdk-view:${newToken()}`;
    const token = newToken();
    const grant = await adapter().acquire({ key, token, ttlMs: 20_000, owner: "worker é/1" });
    if (!grant.ok) throw new Error("expected a grant");
    const blob = sdk().getContainerClient(CONTAINER).getBlobClient(blobName(key));
    const props = await blob.getProperties();
    expect(props).toMatchObject({ leaseState: "leased", leaseStatus: "locked", leaseDuration: "fixed" });
    expect(props.metadata).toMatchObject({ edgelockfence: String(grant.fence), edgelockttl: "20000" });
    expect(decodeURIComponent(props.metadata?.edgelockowner ?? "")).toBe("worker é/1");
    // The metadata names the holder only by a hash: it never reveals the lease id or the token.
    const leaseId = await leaseIdFor(token);
    expect(JSON.stringify(props.metadata)).not.toContain(leaseId);
    expect(JSON.stringify(props.metadata)).not.toContain(token);
    // Another lease id is refused by Azure itself…
    await expect(blob.getBlobLeaseClient().acquireLease(15)).rejects.toMatchObject({ statusCode: 409 });
    // …and the adapter's lease id really is the one derived from the token.
    await blob.getBlobLeaseClient(leaseId).releaseLease();
    expect((await blob.getProperties()).leaseState).toBe("available");
    expect(await adapter().inspect(key)).toEqual({ held: false });
  });

  test("release by the adapter frees the blob's lease for @azure/storage-blob", async () => {
    const key = `sdk-release:${newToken()}`;
    const token = newToken();
    expect((await adapter().acquire({ key, token, ttlMs: 15_000 })).ok).toBe(true);
    expect(await adapter().release({ key, token })).toEqual({ ok: true });
    const blob = sdk().getContainerClient(CONTAINER).getBlobClient(blobName(key));
    expect((await blob.getProperties()).leaseState).toBe("available");
    const lease = await blob.getBlobLeaseClient().acquireLease(15);
    expect(lease.leaseId).toBeTruthy();
    // Held by someone outside edgelock: refused, not overridden.
    expect(await adapter().acquire({ key, token: newToken(), ttlMs: 15_000 })).toMatchObject({
      ok: false,
      reason: "held",
    });
    await blob.getBlobLeaseClient(lease.leaseId).breakLease(0);
    const next = await adapter().acquire({ key, token: newToken(), ttlMs: 15_000 });
    expect(next).toMatchObject({ ok: true, fence: 2 });
  });

  test("TTL mapping: rounded up to whole seconds within 15–60 s; longer is refused, never infinite", async () => {
    expect([1, 14_999, 15_000, 15_001, 59_001, 60_000].map(leaseSeconds)).toEqual([15, 15, 15, 16, 60, 60]);
    for (const bad of [60_001, 0, -5, 1.5, Number.NaN]) expect(() => leaseSeconds(bad)).toThrow(InvalidArgumentError);
    const a = adapter();
    const key = `ttl:${newToken()}`;
    await expect(a.acquire({ key, token: newToken(), ttlMs: 60_001 })).rejects.toBeInstanceOf(InvalidArgumentError);
    const token = newToken();
    const before = Date.now();
    const grant = await a.acquire({ key, token, ttlMs: 16_200 });
    expect(grant).toMatchObject({ ok: true, ttlMs: 17_000 });
    if (grant.ok) expect(grant.expiresAt).toBeGreaterThan(before + 17_000 - 2_000);
    expect(a.capabilities.ttl).toEqual({ minMs: 15_000, maxMs: 60_000, granularityMs: 1_000 });
    const locker = createLocker({ adapter: a });
    await expect(locker.tryAcquire("x", { ttlMs: 61_000 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await a.release({ key, token })).ok).toBe(true);
  });

  test.concurrent("extend with a different TTL changes the lease's duration (not just renews the original one)", async () => {
    const a = adapter();
    const key = `duration:${newToken()}`;
    const token = newToken();
    expect((await a.acquire({ key, token, ttlMs: 15_000 })).ok).toBe(true);
    const extended = await a.extend({ key, token, ttlMs: 30_000 });
    expect(extended).toMatchObject({ ok: true, ttlMs: 30_000 });
    await sleep(17_000);
    // A renew would have kept 15 s and the lease would be gone by now.
    const blob = sdk().getContainerClient(CONTAINER).getBlobClient(blobName(key));
    expect((await blob.getProperties()).leaseState).toBe("leased");
    expect(await a.acquire({ key, token: newToken(), ttlMs: 15_000 })).toMatchObject({ ok: false, reason: "held" });
    expect(await a.release({ key, token })).toEqual({ ok: true });
  }, 60_000);

  test("a lost answer to the fence write: the retry finds the fence already written and reuses it", async () => {
    const key = `lost-fence:${newToken()}`;
    const earlier = newToken();
    const first = await adapter().acquire({ key, token: earlier, ttlMs: 15_000 });
    if (!first.ok) throw new Error("expected a grant");
    await adapter().release({ key, token: earlier });

    // A fresh instance: 1 lease acquire, 2 read of the metadata, 3 the fence write, whose answer is lost.
    const { state, fetch: lossy } = wire(3);
    const a = adapter({ fetch: lossy });
    const token = newToken();
    const error = await a.acquire({ key, token, ttlMs: 15_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).maybeApplied).toBe(true);
    expect(state.calls.map(({ method, url }) => `${method} ${url.search}`)).toEqual([
      "PUT ?comp=lease",
      "HEAD ",
      "PUT ?comp=metadata",
    ]);
    const retry = await a.acquire({ key, token, ttlMs: 15_000 });
    expect(retry).toMatchObject({ ok: true, fence: first.fence + 1 });
    expect(await adapter().inspect(key)).toMatchObject({ held: true, fence: first.fence + 1 });
    expect((await a.release({ key, token })).ok).toBe(true);
  });

  test("inspect between the two requests of a release or of an acquire shows the key free, never the last grant without its holder", async () => {
    const key = `mid-way:${newToken()}`;
    const seen: { at: string; state: unknown }[] = [];
    let watching = false;
    // Another instance inspects just before each lease release and record write is sent.
    const a = adapter({
      fetch: async (input, init) => {
        const query = new URL(input instanceof Request ? input.url : String(input)).searchParams.get("comp");
        const action = new Headers(init?.headers).get("x-ms-lease-action");
        const at = query === "metadata" ? "record write" : action === "release" ? "lease release" : undefined;
        if (watching && at) seen.push({ at, state: await adapter().inspect(key) });
        return fetch(input, init);
      },
    });
    const one = newToken();
    const first = await a.acquire({ key, token: one, ttlMs: 15_000, owner: "one" });
    if (!first.ok) throw new Error("expected a grant");
    watching = true;
    expect(await a.release({ key, token: one })).toEqual({ ok: true });
    const second = await a.acquire({ key, token: newToken(), ttlMs: 15_000, owner: "two" });
    watching = false;
    expect(second).toMatchObject({ ok: true, fence: first.fence + 1 });
    expect(seen).toEqual([
      { at: "record write", state: { held: true, fence: first.fence, owner: "one", expiresAt: first.expiresAt } },
      // The release has cleared the record; its lease is still active.
      { at: "lease release", state: { held: false } },
      // The new lease is taken; its fence is not written yet.
      { at: "record write", state: { held: false } },
    ]);
    expect(await adapter().inspect(key)).toMatchObject({ held: true, fence: second.ok && second.fence, owner: "two" });
  });

  test("requests per operation: 2 per acquire, extend and release on a warm instance, 3 when another instance wrote the key last, whose fence the new one exceeds", async () => {
    const key = `cost:${newToken()}`;
    const one = wire();
    const two = wire();
    const a = adapter({ fetch: one.fetch });
    const b = adapter({ fetch: two.fetch });
    const t1 = newToken();
    await a.acquire({ key, token: t1, ttlMs: 15_000 }); // warm-up: creates the blob
    await a.release({ key, token: t1 });

    const count = async <T>(w: ReturnType<typeof wire>, op: () => Promise<T>): Promise<[number, T]> => {
      const before = w.state.requests;
      const result = await op();
      return [w.state.requests - before, result];
    };
    const fenceOf = (result: Awaited<ReturnType<LockAdapter["acquire"]>>) => {
      if (!result.ok) throw new Error("expected a grant");
      return result.fence;
    };
    const t2 = newToken();
    const [acquired, grant2] = await count(one, () => a.acquire({ key, token: t2, ttlMs: 15_000 }));
    expect(acquired).toBe(2);
    expect((await count(one, () => a.extend({ key, token: t2, ttlMs: 15_000 })))[0]).toBe(2);
    // Another instance extending a lease it did not grant reads the metadata first.
    expect((await count(two, () => b.extend({ key, token: t2, ttlMs: 15_000 })))[0]).toBe(3);
    // a's view names t2 but b wrote since: the write conditioned on a's ETag is refused, a reads, writes, releases.
    expect((await count(one, () => a.release({ key, token: t2 })))[0]).toBe(4);
    // a's release wrote the record last: b's view is stale, so b reads it, and its fence follows a's grant.
    const t3 = newToken();
    const [stale3, grant3] = await count(two, () => b.acquire({ key, token: t3, ttlMs: 15_000 }));
    expect(stale3).toBe(3);
    expect(fenceOf(grant3)).toBeGreaterThan(fenceOf(grant2));
    expect((await count(two, () => b.release({ key, token: t3 })))[0]).toBe(2);
    const t4 = newToken();
    const [stale4, grant4] = await count(one, () => a.acquire({ key, token: t4, ttlMs: 15_000 }));
    expect(stale4).toBe(3); // a's view is stale
    expect(fenceOf(grant4)).toBeGreaterThan(fenceOf(grant3));
    expect((await count(one, () => a.inspect(key)))[0]).toBe(1);
    const refused = newToken();
    expect((await count(two, () => b.acquire({ key, token: refused, ttlMs: 15_000 })))[0]).toBe(1);
    // Released from the instance that did not grant it, with a stale view: it reads first.
    expect((await count(two, () => b.release({ key, token: t4 })))[0]).toBe(3);
    expect(await a.inspect(key)).toEqual({ held: false });
  });

  test("the same token acquiring after its own release or expiry gets a new fence; a retry while it holds keeps it", async () => {
    const key = `same-token:${newToken()}`;
    const token = newToken();
    const a = adapter();
    const first = await a.acquire({ key, token, ttlMs: 15_000 });
    const retry = await adapter().acquire({ key, token, ttlMs: 15_000 });
    if (!first.ok || !retry.ok) throw new Error("expected grants");
    expect(retry.fence).toBe(first.fence);
    expect(await a.release({ key, token })).toEqual({ ok: true });
    // The record keeps the fence and names no holder.
    const blob = sdk().getContainerClient(CONTAINER).getBlobClient(blobName(key));
    const metadata = (await blob.getProperties()).metadata ?? {};
    expect(metadata.edgelockfence).toBe(String(first.fence));
    expect(metadata.edgelockholder).toBeUndefined();
    const again = await adapter().acquire({ key, token, ttlMs: 15_000 });
    if (!again.ok) throw new Error("expected a grant");
    expect(again.fence).toBe(first.fence + 1);
    expect(await a.release({ key, token })).toEqual({ ok: true });
  });

  test("an instance with a stale view of its own token's grant never writes an older fence back", async () => {
    const key = `stale-view:${newToken()}`;
    const token = newToken();
    const [a, b] = [adapter(), adapter()];
    const first = await a.acquire({ key, token, ttlMs: 15_000 });
    if (!first.ok) throw new Error("expected a grant");
    // Behind a's back: b releases the token's lock, another token holds and frees it, b takes it again for the token.
    expect(await b.release({ key, token })).toEqual({ ok: true });
    const other = newToken();
    expect((await b.acquire({ key, token: other, ttlMs: 15_000 })).ok).toBe(true);
    expect(await b.release({ key, token: other })).toEqual({ ok: true });
    const latest = await b.acquire({ key, token, ttlMs: 15_000 });
    if (!latest.ok) throw new Error("expected a grant");
    expect(latest.fence).toBe(first.fence + 2);
    // a still remembers the first grant, with its fence: its extend and release must not write that back.
    expect(await a.extend({ key, token, ttlMs: 15_000 })).toMatchObject({ ok: true, fence: latest.fence });
    expect(await a.release({ key, token })).toEqual({ ok: true });
    const blob = sdk().getContainerClient(CONTAINER).getBlobClient(blobName(key));
    expect((await blob.getProperties()).metadata?.edgelockfence).toBe(String(latest.fence));
    expect(await a.acquire({ key, token: newToken(), ttlMs: 15_000 })).toMatchObject({
      ok: true,
      fence: latest.fence + 1,
    });
  });

  test("lease ids: a GUID carrying the token's 128 bits, the same for every retry", async () => {
    const token = newToken();
    const id = await leaseIdFor(token);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await leaseIdFor(token)).toBe(id);
    expect(id.replace(/-/g, "")).toBe(Buffer.from(token, "base64url").toString("hex"));
    expect(await leaseIdFor(newToken())).not.toBe(id);
    // Other strings are hashed, still as a GUID, and never collide with the direct mapping of their bytes.
    expect(await leaseIdFor("not a lock-client token")).toMatch(/^[0-9a-f]{8}-/);
    expect(await leaseIdFor("AAAAAAAAAAAAAAAAAAAAAB")).not.toBe(await leaseIdFor("AAAAAAAAAAAAAAAAAAAAAA"));
  });
});

test("azure-blob: with createContainer, a value read before any lock finds no value, not a missing container", async () => {
  const container = `fresh-${newToken()
    .slice(0, 8)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "a")}`;
  const a = adapter({ container, createContainer: true });
  expect(await a.readValue?.(`never:${newToken()}`, {})).toEqual({ json: undefined, version: 0, fence: 0 });
  // Without it, the missing container is the user's to fix, and is said so.
  await expect(
    adapter({ container, createContainer: false }).readValue?.(`never:${newToken()}`, {}),
  ).rejects.toMatchObject({ code: "backend_rejected" });
});
