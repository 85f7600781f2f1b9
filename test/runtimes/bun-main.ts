/**
 * Run with Bun: the lock scenario against every backend whose endpoint the
 * environment names (the test that spawns this starts them). Prints one JSON
 * line: the runtime and the failed checks.
 */
import { neon, neonConfig, Pool } from "@neondatabase/serverless";
import { azureBlobAdapter } from "../../adapters/azure-blob/index.js";
import { dynamodbAdapter } from "../../adapters/dynamodb/index.js";
import { etcdAdapter } from "../../adapters/etcd/index.js";
import { postgresAdapter } from "../../adapters/postgres/index.js";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { memoryAdapter } from "../../src/index.js";
import { runScenario } from "./scenario.js";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const need = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

neonConfig.fetchEndpoint = need("NEON_HTTP_URL");
// WebSocket mode through the relay, with Bun's own WebSocket.
const relay = need("WS_RELAY");
neonConfig.wsProxy = (host, port) => `${relay}/v2?address=${host}:${port}`;
neonConfig.useSecureWebSocket = false;
neonConfig.pipelineConnect = false;
const pool = new Pool({ connectionString: need("POSTGRES_URL") });

const failures = [
  ...(await runScenario(memoryAdapter(), "memory")),
  ...(await runScenario(upstashAdapter({ url: need("UPSTASH_URL"), token: need("UPSTASH_TOKEN") }), "upstash")),
  ...(await runScenario(
    dynamodbAdapter({
      table: need("DYNAMODB_TABLE"),
      endpoint: need("DYNAMODB_ENDPOINT"),
      region: "us-east-1",
      credentials: { accessKeyId: "edgelock", secretAccessKey: "edgelock" },
      clockSkewMarginMs: 100,
    }),
    "dynamodb",
  )),
  ...(await runScenario(
    azureBlobAdapter({ connectionString: need("AZURE_CONNECTION_STRING"), container: "bun", createContainer: true }),
    "azure-blob",
  )),
  ...(await runScenario(postgresAdapter({ sql: neon(need("POSTGRES_URL")) }), "postgres")),
  ...(await runScenario(postgresAdapter({ pool }), "postgres over a WebSocket Pool")),
  ...(await runScenario(etcdAdapter({ endpoint: need("ETCD_URL") }), "etcd")),
];
await pool.end();
const runtime = (globalThis as { Bun?: { version: string } }).Bun?.version;
console.log(JSON.stringify({ runtime: runtime ? `bun ${runtime}` : "not bun", failures }));
