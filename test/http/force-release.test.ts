import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { httpAdapter } from "../../adapters/http/index.js";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLockService } from "../../service/app.js";
import { listen, type NodeService } from "../../service/platforms/node.js";
import { BackendRejectedError, createLocker, LockLostError } from "../../src/index.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

const TOKEN = "force-release-user-token";
const ADMIN = "force-release-admin-token";
let upstash: UpstashFixture;
let service: NodeService;
beforeAll(async () => {
  upstash = await startUpstash();
  const adapter = upstashAdapter({ url: upstash.url, token: upstash.token });
  service = await listen(createLockService({ adapter, tokens: TOKEN, adminTokens: ADMIN }), { port: 0 });
}, 60_000);
afterAll(async () => {
  await service?.close();
  await upstash?.stop();
});

const post = (key: string, token: string, body: string) =>
  fetch(`${service.url}/v1/locks/${key}/break`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body,
  });

describe("POST /v1/locks/{key}/break, behind EDGELOCK_ADMIN_TOKENS, over Upstash REST on redis-server", () => {
  test("an admin token breaks the holder named by its fence; the broken lease is lost; the next fence is greater", async () => {
    const user = createLocker({ adapter: httpAdapter({ url: service.url, token: TOKEN }) });
    const lease = await user.tryAcquire("job", { ttlMs: 30_000 });
    if (!lease) throw new Error("expected a lease");
    // The user's token cannot break, and its adapter does not offer it.
    expect(httpAdapter({ url: service.url, token: TOKEN }).forceRelease).toBeUndefined();
    await expect(user.forceRelease("job")).rejects.toBeInstanceOf(BackendRejectedError);
    const forbidden = await post("job", TOKEN, JSON.stringify({ fence: lease.fence }));
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: "forbidden" });
    expect((await post("job", "not-a-configured-token", "{}")).status).toBe(401);
    expect(await user.inspect("job")).toMatchObject({ held: true, fence: lease.fence });
  });

  test("tenants bound what an admin token can break", async () => {
    const tenantUser = "tenant-user-token-1";
    const tenantAdmin = "tenant-admin-token-1";
    const local = await listen(
      createLockService({
        adapter: upstashAdapter({ url: upstash.url, token: upstash.token }),
        tokens: `${tenantUser}=billing`,
        adminTokens: `${tenantAdmin}=billing, ${ADMIN}=other`,
      }),
      { port: 0 },
    );
    try {
      const user = createLocker({ adapter: httpAdapter({ url: local.url, token: tenantUser }) });
      const operator = createLocker({
        adapter: httpAdapter({ url: local.url, token: tenantUser, adminToken: tenantAdmin }),
      });
      const outsider = createLocker({ adapter: httpAdapter({ url: local.url, token: tenantUser, adminToken: ADMIN }) });
      const lease = await user.tryAcquire("invoice", { ttlMs: 30_000 });
      if (!lease) throw new Error("expected a lease");
      // Another tenant's admin sees no such holder under that fence.
      expect(await outsider.forceRelease("invoice", { fence: lease.fence })).toEqual({ released: false });
      expect(await operator.forceRelease("invoice", { fence: lease.fence + 1 })).toEqual({ released: false });
      expect(await operator.forceRelease("invoice")).toEqual({ released: true, fence: lease.fence });
      await expect(lease.extend()).rejects.toBeInstanceOf(LockLostError);
      const next = await user.tryAcquire("invoice", { ttlMs: 30_000 });
      expect(next?.fence).toBeGreaterThan(lease.fence);
      // Bad bodies are 400s, before the backend.
      const before = upstash.requests();
      for (const body of ["{}", '{"fence":0}', '{"fence":1.5}', '{"fence":"1"}', '{"fence":1,"x":1}', "nope"]) {
        const answer = await fetch(`${local.url}/v1/locks/invoice/break`, {
          method: "POST",
          headers: { authorization: `Bearer ${tenantAdmin}`, "content-type": "application/json" },
          body,
        });
        expect(answer.status, body).toBe(400);
      }
      expect(upstash.requests()).toBe(before);
    } finally {
      await local.close();
    }
  });
});
