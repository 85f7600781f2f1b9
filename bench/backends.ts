/**
 * Starts each backend the tests use (through the test harness helpers) and
 * builds the drivers that run against it: edgelock's adapter and, where
 * one exists, the peer library on the very same backend.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { memoryAdapter } from "../src/index.js";
import { edgelockDriver, type LockDriver } from "./driver.js";
import { Meter } from "./measure.js";

export interface Backend {
  /** Short name, matched by `BENCH_ONLY`. */
  readonly name: string;
  /** Repository files the backend needs; any missing one skips it (loudly). */
  readonly needs: readonly string[];
  /** Start the backend; the drivers to run and how to stop it. */
  start(): Promise<Started>;
}

export interface Started {
  readonly drivers: LockDriver[];
  stop(): Promise<void>;
}

const root = resolve(import.meta.dirname, "..");

/** The files of `backend` that do not exist (yet). */
export function missingFiles(backend: Backend): string[] {
  return backend.needs.filter((file) => !existsSync(resolve(root, file)));
}

export const memory: Backend = {
  name: "memory",
  needs: [],
  async start() {
    const meter = new Meter();
    // The adapter is the backend here: every contender has its own lock client on this one store.
    const store = memoryAdapter();
    const driver = edgelockDriver({
      name: "edgelock memory",
      backend: "in-process, no I/O (the ceiling)",
      counting: "in-process",
      meter,
      adapter: () => store,
    });
    return { drivers: [driver], stop: async () => {} };
  },
};

export const upstash: Backend = {
  name: "upstash",
  needs: ["adapters/upstash/index.ts", "test/support/upstash-rest.ts"],
  async start() {
    const { upstashAdapter } = await import("../adapters/upstash/index.js");
    const { upstashLockDriver } = await import("./peers/upstash-lock.js");
    // In the bench's process by default (as every published run so far); BENCH_UPSTASH_PROCESS=1
    // moves the endpoint to a process of its own. On 2 cores the ratio to the peer depends on it.
    const fixture = process.env.BENCH_UPSTASH_PROCESS
      ? await (await import("./upstash-process.js")).startUpstashProcess()
      : await (await import("../test/support/upstash-rest.js")).startUpstash();
    const meter = new Meter();
    const adapter = () => upstashAdapter({ url: fixture.url, token: fixture.token, fetch: meter.fetch });
    return {
      drivers: [
        edgelockDriver({ name: "edgelock upstash", backend: "Upstash REST", counting: "fetch", meter, adapter }),
        upstashLockDriver({ url: fixture.url, token: fixture.token, meter: new Meter() }),
      ],
      stop: () => fixture.stop(),
    };
  },
};

export const dynamodb: Backend = {
  name: "dynamodb",
  needs: ["adapters/dynamodb/index.ts", "test/support/dynamodb-local.ts"],
  async start() {
    const support = await import("../test/support/dynamodb-local.js");
    const { createLockTable, dynamodbAdapter } = await import("../adapters/dynamodb/index.js");
    const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
    const { FetchHttpHandler } = await import("@smithy/fetch-http-handler");
    const { verrouDynamoDBDriver } = await import("./peers/verrou-dynamodb.js");
    const ddb = await support.startDynamoDBLocal();
    try {
      const region = support.DYNAMODB_LOCAL_REGION;
      const credentials = { ...support.DYNAMODB_LOCAL_CREDENTIALS };
      const table = "edgelock-bench";
      const admin = new DynamoDBClient({
        endpoint: ddb.endpoint,
        region,
        credentials,
        requestHandler: new FetchHttpHandler(),
      });
      await createLockTable(admin, { table });
      admin.destroy();
      const meter = new Meter();
      // The adapter's production defaults, margin included (1 s), as a user would run it.
      const adapter = () => dynamodbAdapter({ table, region, endpoint: ddb.endpoint, credentials, fetch: meter.fetch });
      return {
        drivers: [
          edgelockDriver({ name: "edgelock dynamodb", backend: "DynamoDB Local", counting: "fetch", meter, adapter }),
          verrouDynamoDBDriver({ endpoint: ddb.endpoint, region, credentials, meter: new Meter() }),
        ],
        stop: () => ddb.stop(),
      };
    } catch (error) {
      await ddb.stop();
      throw error;
    }
  },
};

export const azureBlob: Backend = {
  name: "azure-blob",
  needs: ["adapters/azure-blob/index.ts", "test/support/azurite.ts"],
  async start() {
    const { startAzurite } = await import("../test/support/azurite.js");
    const { azureBlobAdapter } = await import("../adapters/azure-blob/index.js");
    const azurite = await startAzurite();
    const meter = new Meter();
    // The container is created on first use, during the warm-up cycles.
    const adapter = () =>
      azureBlobAdapter({
        connectionString: azurite.connectionString,
        container: "edgelock-bench",
        createContainer: true,
        fetch: meter.fetch,
      });
    return {
      drivers: [edgelockDriver({ name: "edgelock azure-blob", backend: "Azurite", counting: "fetch", meter, adapter })],
      stop: () => azurite.stop(),
    };
  },
};

/** PostgreSQL 15, reached as Neon's driver reaches it: HTTP (`neon()`) and the WebSocket `Pool`. */
export const postgres: Backend = {
  name: "postgres",
  needs: ["adapters/postgres/index.ts", "test/support/postgres-neon.ts"],
  async start() {
    const { startNeonLocal } = await import("../test/support/postgres-neon.js");
    const { createLockTable, postgresAdapter } = await import("../adapters/postgres/index.js");
    const pg = await startNeonLocal();
    try {
      await createLockTable({ sql: pg.sql() });
      const meter = new Meter();
      let pools = 0;
      return {
        drivers: [
          edgelockDriver({
            name: "edgelock postgres http",
            backend: "PostgreSQL 15 ← Neon-HTTP test endpoint (neon())",
            counting: "fetch",
            meter,
            adapter: () => postgresAdapter({ sql: pg.sql({ fetch: meter.fetch }) }),
          }),
          edgelockDriver({
            name: "edgelock postgres ws",
            backend: "PostgreSQL 15 ← ws relay (WebSocket Pool)",
            counting: "rpc",
            meter: new Meter(),
            // The shared instance (built first) may open 20 connections; each worker's own, 2.
            adapter: () => postgresAdapter({ pool: pg.pool({ max: pools++ === 0 ? 20 : 2 }) }),
          }),
        ],
        stop: () => pg.stop(),
      };
    } catch (error) {
      await pg.stop();
      throw error;
    }
  },
};

export const etcd: Backend = {
  name: "etcd",
  needs: ["adapters/etcd/index.ts", "test/support/etcd.ts"],
  async start() {
    const { startEtcd } = await import("../test/support/etcd.js");
    const { etcdAdapter } = await import("../adapters/etcd/index.js");
    const server = await startEtcd();
    const meter = new Meter();
    const adapter = () => etcdAdapter({ endpoint: server.url, fetch: meter.fetch });
    return {
      drivers: [edgelockDriver({ name: "edgelock etcd", backend: "etcd 3.4", counting: "fetch", meter, adapter })],
      stop: () => server.stop(),
    };
  },
};

/** One Worker in workerd: the lock object reached by RPC, and the HTTP service in front of it. */
export const durableObject: Backend = {
  name: "durable-object+http",
  needs: [
    "adapters/durable-object/index.ts",
    "adapters/http/index.ts",
    "service/platforms/worker.ts",
    "test/support/miniflare.ts",
  ],
  async start() {
    const { startLockWorker } = await import("../test/support/miniflare.js");
    const { durableObjectAdapter } = await import("../adapters/durable-object/index.js");
    const { httpAdapter } = await import("../adapters/http/index.js");
    const token = "bench-token";
    const worker = await startLockWorker({ bindings: { EDGELOCK_API_TOKENS: token } });
    const meter = new Meter();
    return {
      drivers: [
        edgelockDriver({
          name: "edgelock durable-object",
          backend: "workerd (Miniflare), stub calls from Node over HTTP",
          counting: "rpc",
          meter: new Meter(),
          adapter: () => durableObjectAdapter({ namespace: worker.namespace }),
        }),
        edgelockDriver({
          name: "edgelock http",
          backend: "Worker service → Durable Object (workerd)",
          counting: "fetch",
          meter,
          adapter: () => httpAdapter({ url: worker.url.href, token, fetch: meter.fetch }),
        }),
      ],
      stop: () => worker.stop(),
    };
  },
};
