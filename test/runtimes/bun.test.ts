import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createLockTable } from "../../adapters/dynamodb/index.js";
import { createLockTable as createPostgresLockTable } from "../../adapters/postgres/index.js";
import { type Azurite, startAzurite } from "../support/azurite.js";
import { type DynamoDBLocal, localClient, startDynamoDBLocal } from "../support/dynamodb-local.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";
import { type NeonLocal, startNeonLocal } from "../support/postgres-neon.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

// The library on another runtime: Bun (from npm) runs the lock scenario
// straight from the TypeScript sources against the same real backends.
let upstash: UpstashFixture;
let ddb: DynamoDBLocal;
let azurite: Azurite;
let pg: NeonLocal;
let etcd: EtcdServer;
const TABLE = "bun-locks";

beforeAll(async () => {
  [upstash, ddb, azurite, pg, etcd] = await Promise.all([
    startUpstash(),
    startDynamoDBLocal(),
    startAzurite(),
    startNeonLocal(),
    startEtcd(),
  ]);
  const client = localClient(ddb.endpoint);
  await createLockTable(client, { table: TABLE });
  await createPostgresLockTable({ sql: pg.sql() });
}, 120_000);

afterAll(async () => {
  await Promise.all([upstash?.stop(), ddb?.stop(), azurite?.stop(), pg?.stop(), etcd?.stop()]);
});

test("on Bun: memory, Upstash, DynamoDB, Azure Blob, PostgreSQL and etcd adapters take, refuse, extend and release locks", async () => {
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn("node_modules/.bin/bun", ["test/runtimes/bun-main.ts"], {
      env: {
        PATH: process.env.PATH,
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
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`bun exited with ${code}: ${stderr || stdout}`));
    });
  });
  const result = JSON.parse(output.trim().split("\n").at(-1) ?? "{}");
  expect(result.runtime).toMatch(/^bun \d/);
  expect(result.failures).toEqual([]);
}, 90_000);
