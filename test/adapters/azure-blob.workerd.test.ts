import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type Azurite, startAzurite } from "../support/azurite.js";
import { bundleWorker } from "../support/worker-bundle.js";

// The adapter bundled on its own, as a Worker would ship it: only the adapter
// and the lock client, no Node built-ins (the bundle would fail to run otherwise).
const WORKER = `
import { azureBlobAdapter } from "./adapters/azure-blob/index.ts";
import { createLocker } from "./src/index.ts";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const key = url.searchParams.get("key");
    const adapter = azureBlobAdapter({ connectionString: env.AZURE_CONNECTION_STRING, container: "workerd", createContainer: true });
    if (url.pathname === "/acquire") {
      const token = url.searchParams.get("token");
      return Response.json(await adapter.acquire({ key, token, ttlMs: 20000, owner: "workerd" }));
    }
    if (url.pathname === "/release") {
      return Response.json(await adapter.release({ key, token: url.searchParams.get("token") }));
    }
    if (url.pathname === "/with-lock") {
      const locker = createLocker({ adapter });
      const result = await locker.withLock(key, async (lease) => {
        await lease.extend(30000);
        return { fence: lease.fence, ttlMs: lease.ttlMs, inside: await locker.inspect(key) };
      }, { ttlMs: 15000 });
      return Response.json({ result, after: await locker.inspect(key) });
    }
    return new Response("not found", { status: 404 });
  },
};
`;

let azurite: Azurite;
let mf: Miniflare;

beforeAll(async () => {
  azurite = await startAzurite();
  const script = await bundleWorker(WORKER);
  mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: "2026-04-20",
    bindings: { AZURE_CONNECTION_STRING: azurite.connectionString },
  });
  await mf.ready;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  await azurite?.stop();
});

test("in workerd, the adapter takes a lease Azure (Azurite) really holds, and releases it", async () => {
  const key = `workerd:${Date.now()}`;
  const token = "AAECAwQFBgcICQoLDA0ODw"; // 16 bytes 00..0f, as the lock client would make them
  const grant = await (
    await mf.dispatchFetch(`http://worker/acquire?key=${encodeURIComponent(key)}&token=${token}`)
  ).json();
  expect(grant).toMatchObject({ ok: true, fence: 1, ttlMs: 20_000 });

  const blob = new BlobServiceClient(
    azurite.url,
    new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey),
  )
    .getContainerClient("workerd")
    .getBlobClient(`locks/${Buffer.from(key).toString("base64url")}`);
  const props = await blob.getProperties();
  expect(props).toMatchObject({ leaseState: "leased", leaseDuration: "fixed" });
  expect(props.metadata).toMatchObject({ edgelockfence: "1", edgelockowner: "workerd" });

  const released = await (
    await mf.dispatchFetch(`http://worker/release?key=${encodeURIComponent(key)}&token=${token}`)
  ).json();
  expect(released).toEqual({ ok: true });
  expect((await blob.getProperties()).leaseState).toBe("available");
});

test("in workerd, the lock client over the adapter runs withLock with an extend", async () => {
  const key = `workerd-lock:${Date.now()}`;
  const body = await (await mf.dispatchFetch(`http://worker/with-lock?key=${encodeURIComponent(key)}`)).json();
  expect(body).toMatchObject({
    result: { ran: true, value: { fence: 1, ttlMs: 30_000, inside: { held: true, fence: 1 } } },
    after: { held: false },
  });
});
