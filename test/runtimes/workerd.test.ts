import { Miniflare } from "miniflare";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createLockTable } from "../../adapters/dynamodb/index.js";
import { createLockTable as createPostgresLockTable } from "../../adapters/postgres/index.js";
import { type Azurite, startAzurite } from "../support/azurite.js";
import { type DynamoDBLocal, localClient, startDynamoDBLocal } from "../support/dynamodb-local.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { type NeonLocal, startNeonLocal } from "../support/postgres-neon.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";
import { bundleWorker } from "../support/worker-bundle.js";

// The library inside workerd, bundled as a Worker ships it (esbuild, the
// workerd/worker/browser export conditions, no Node compatibility flag): the
// same lock scenario as on Bun, against the same real backends.
const WORKER = `
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { azureBlobAdapter } from "./adapters/azure-blob/index.ts";
import { dynamodbAdapter } from "./adapters/dynamodb/index.ts";
import { postgresAdapter } from "./adapters/postgres/index.ts";
import { etcdAdapter } from "./adapters/etcd/index.ts";
import { upstashAdapter } from "./adapters/upstash/index.ts";
import { memoryAdapter } from "./src/index.ts";
import { runScenario } from "./test/runtimes/scenario.ts";

// A Pool lives within one request in workerd: made, used and ended here.
async function withPool(env, run) {
  neonConfig.wsProxy = (host, port) => env.WS_RELAY + "/v2?address=" + host + ":" + port;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  const pool = new Pool({ connectionString: env.POSTGRES_URL });
  try {
    return await run(pool);
  } finally {
    await pool.end();
  }
}

export default {
  async fetch(request, env) {
    neonConfig.fetchEndpoint = env.NEON_HTTP_URL;
    const failures = [
      ...(await runScenario(memoryAdapter(), "memory")),
      ...(await runScenario(upstashAdapter({ url: env.UPSTASH_URL, token: env.UPSTASH_TOKEN }), "upstash")),
      ...(await runScenario(dynamodbAdapter({
        table: env.DYNAMODB_TABLE,
        endpoint: env.DYNAMODB_ENDPOINT,
        region: "us-east-1",
        credentials: { accessKeyId: "edgelock", secretAccessKey: "edgelock" },
        clockSkewMarginMs: 100,
      }), "dynamodb")),
      ...(await runScenario(azureBlobAdapter({
        connectionString: env.AZURE_CONNECTION_STRING, container: "workerd-runtime", createContainer: true,
      }), "azure-blob")),
      ...(await runScenario(postgresAdapter({ sql: neon(env.POSTGRES_URL) }), "postgres")),
      ...(await withPool(env, (pool) => runScenario(postgresAdapter({ pool }), "postgres over a WebSocket Pool"))),
      ...(await runScenario(etcdAdapter({ endpoint: env.ETCD_URL }), "etcd")),
    ];
    return Response.json({ failures });
  },
};
`;

let upstash: UpstashFixture;
let ddb: DynamoDBLocal;
let azurite: Azurite;
let pg: NeonLocal;
let etcd: EtcdServer;
let mf: Miniflare;
const TABLE = "workerd-locks";

beforeAll(async () => {
  [upstash, ddb, azurite, pg, etcd] = await Promise.all([
    startUpstash(),
    startDynamoDBLocal(),
    startAzurite(),
    startNeonLocal(),
    startEtcd(),
  ]);
  await createLockTable(localClient(ddb.endpoint), { table: TABLE });
  await createPostgresLockTable({ sql: pg.sql() });
  const script = await bundleWorker(WORKER);
  mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: "2026-04-20",
    bindings: {
      UPSTASH_URL: upstash.url,
      UPSTASH_TOKEN: upstash.token,
      DYNAMODB_ENDPOINT: ddb.endpoint,
      DYNAMODB_TABLE: TABLE,
      AZURE_CONNECTION_STRING: azurite.connectionString,
      POSTGRES_URL: pg.connectionString,
      NEON_HTTP_URL: pg.http.url,
      WS_RELAY: pg.relay.host,
      ETCD_URL: etcd.url,
    },
  });
  await mf.ready;
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  await Promise.all([upstash?.stop(), ddb?.stop(), azurite?.stop(), pg?.stop(), etcd?.stop()]);
});

test("in workerd: memory, Upstash, DynamoDB, Azure Blob, PostgreSQL and etcd adapters take, refuse, extend and release locks", async () => {
  const response = await mf.dispatchFetch("http://worker/");
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(JSON.parse(text)).toEqual({ failures: [] });
}, 60_000);
