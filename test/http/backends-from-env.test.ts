import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { httpAdapter } from "../../adapters/http/index.js";
import { createLockTable } from "../../adapters/postgres/index.js";
import { type NodeService, startFromEnv } from "../../service/platforms/node.js";
import { createLocker, InvalidArgumentError } from "../../src/index.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { type NeonLocal, startNeonLocal } from "../support/postgres-neon.js";

// The Node entry serves PostgreSQL (over neon() HTTP) and etcd like the other
// backends, configured by environment variables alone.
const TOKEN = "backends-from-env-token";
let etcd: EtcdServer;
let pg: NeonLocal;
beforeAll(async () => {
  [etcd, pg] = await Promise.all([startEtcd(), startNeonLocal()]);
  await createLockTable({ sql: pg.sql(), table: "service_locks" });
}, 120_000);
afterAll(() => Promise.all([etcd?.stop(), pg?.stop()]));

async function lockCycle(service: NodeService): Promise<void> {
  const client = () => createLocker({ adapter: httpAdapter({ url: service.url, token: TOKEN }) });
  const first = await client().tryAcquire("env-backend", { ttlMs: 10_000, owner: "first" });
  if (!first) throw new Error("expected the lock");
  expect(await client().tryAcquire("env-backend", { ttlMs: 10_000 })).toBeNull();
  expect(await client().inspect("env-backend")).toMatchObject({ held: true, fence: first.fence, owner: "first" });
  await first.release();
  const second = await client().tryAcquire("env-backend", { ttlMs: 10_000 });
  expect(second?.fence).toBeGreaterThan(first.fence);
  await second?.release();
}

describe("EDGELOCK_BACKEND=etcd and =postgres on the Node entry", () => {
  test("etcd: take, refuse, inspect, release, a greater fence next", async () => {
    const service = await startFromEnv({
      EDGELOCK_BACKEND: "etcd",
      EDGELOCK_ETCD_ENDPOINT: etcd.url,
      EDGELOCK_API_TOKENS: TOKEN,
      PORT: "0",
    });
    try {
      await lockCycle(service);
    } finally {
      await service.close();
    }
  });

  test("postgres over neon() HTTP: take, refuse, inspect, release, a greater fence next", async () => {
    const service = await startFromEnv({
      EDGELOCK_BACKEND: "postgres",
      EDGELOCK_POSTGRES_URL: pg.connectionString,
      EDGELOCK_POSTGRES_TABLE: "service_locks",
      EDGELOCK_API_TOKENS: TOKEN,
      PORT: "0",
    });
    try {
      await lockCycle(service);
    } finally {
      await service.close();
    }
  });

  test("a missing variable is named before anything starts", async () => {
    await expect(startFromEnv({ EDGELOCK_BACKEND: "etcd", EDGELOCK_API_TOKENS: TOKEN, PORT: "0" })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(startFromEnv({ EDGELOCK_BACKEND: "postgres", EDGELOCK_API_TOKENS: TOKEN, PORT: "0" })).rejects.toThrow(
      /EDGELOCK_POSTGRES_URL/,
    );
    await expect(
      startFromEnv({
        EDGELOCK_BACKEND: "etcd",
        EDGELOCK_ETCD_ENDPOINT: etcd.url,
        EDGELOCK_ETCD_USERNAME: "root",
        EDGELOCK_API_TOKENS: TOKEN,
        PORT: "0",
      }),
    ).rejects.toThrow(/EDGELOCK_ETCD_PASSWORD/);
  });
});
