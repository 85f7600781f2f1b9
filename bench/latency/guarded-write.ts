/**
 * Latency of a guarded write (`lease.write`, holder checked in the backend's
 * own write request) next to a plain `lease.extend` and a `locker.read`, on
 * every backend, through the lock client, against the local backends the
 * tests use. Measures only:
 *
 *   npx tsx bench/latency/guarded-write.ts [iterations] [only]
 */
import { azureBlobAdapter } from "../../adapters/azure-blob/index.js";
import { durableObjectAdapter } from "../../adapters/durable-object/index.js";
import { createLockTable, dynamodbAdapter } from "../../adapters/dynamodb/index.js";
import { httpAdapter } from "../../adapters/http/index.js";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLockService } from "../../service/app.js";
import { listen } from "../../service/platforms/node.js";
import { createLocker, type LockAdapter, memoryAdapter } from "../../src/index.js";
import { startAzurite } from "../../test/support/azurite.js";
import {
  DYNAMODB_LOCAL_CREDENTIALS,
  DYNAMODB_LOCAL_REGION,
  localClient,
  startDynamoDBLocal,
} from "../../test/support/dynamodb-local.js";
import { startLockWorker } from "../../test/support/miniflare.js";
import { startUpstash } from "../../test/support/upstash-rest.js";
import { Latencies } from "./report.js";

const iterations = Number(process.argv[2] ?? 100);
const only = process.argv[3];
const value = { step: "uploaded", rows: 1200, note: "x".repeat(200) };

type Target = { name: string; start(): Promise<{ adapter: LockAdapter; ttlMs: number; stop(): Promise<void> }> };

const targets: Target[] = [
  { name: "memory", start: async () => ({ adapter: memoryAdapter(), ttlMs: 30_000, stop: async () => {} }) },
  {
    name: "upstash",
    async start() {
      const fixture = await startUpstash();
      return { adapter: upstashAdapter({ url: fixture.url, token: fixture.token }), ttlMs: 30_000, stop: fixture.stop };
    },
  },
  {
    name: "dynamodb",
    async start() {
      const ddb = await startDynamoDBLocal();
      await createLockTable(localClient(ddb.endpoint), { table: "bench-guarded" });
      const adapter = dynamodbAdapter({
        table: "bench-guarded",
        endpoint: ddb.endpoint,
        region: DYNAMODB_LOCAL_REGION,
        credentials: DYNAMODB_LOCAL_CREDENTIALS,
      });
      return { adapter, ttlMs: 30_000, stop: () => ddb.stop() };
    },
  },
  {
    name: "azure-blob",
    async start() {
      const azurite = await startAzurite();
      const adapter = azureBlobAdapter({ connectionString: azurite.connectionString, createContainer: true });
      return { adapter, ttlMs: 60_000, stop: () => azurite.stop() };
    },
  },
  {
    name: "durable-object",
    async start() {
      const worker = await startLockWorker();
      return {
        adapter: durableObjectAdapter({ namespace: worker.namespace }),
        ttlMs: 30_000,
        stop: () => worker.stop(),
      };
    },
  },
  {
    name: "http over memory",
    async start() {
      const service = await listen(createLockService({ adapter: memoryAdapter(), tokens: "bench-token" }), { port: 0 });
      return { adapter: httpAdapter({ url: service.url, token: "bench-token" }), ttlMs: 30_000, stop: service.close };
    },
  },
];

for (const target of targets) {
  if (only && target.name !== only) continue;
  const started = await target.start();
  try {
    const locker = createLocker({ adapter: started.adapter, namespace: "bench-guarded:" });
    const latencies = new Latencies();
    for (let i = 0; i < iterations + 10; i++) {
      const warm = i < 10; // script loading, container creation, connections
      const lease = await locker.acquire(`k${i % 5}`, { ttlMs: started.ttlMs });
      await latencies.time("extend", () => lease.extend(), warm);
      await latencies.time("write", () => lease.write({ ...value, i }), warm);
      await latencies.time("read", () => locker.read(`k${i % 5}`), warm);
      await lease.release();
    }
    console.log(`${target.name}:`);
    for (const line of latencies.lines()) console.log(`  ${line}`);
  } finally {
    await started.stop();
  }
}
