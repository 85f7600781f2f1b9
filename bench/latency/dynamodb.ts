/**
 * Latency of the DynamoDB adapter against DynamoDB Local, per operation,
 * uncontended and warm. Measures only, so it is not a test:
 *
 *   npx tsx bench/latency/dynamodb.ts [iterations]
 */
import { createLockTable, dynamodbAdapter } from "../../adapters/dynamodb/index.js";
import { newToken } from "../../src/index.js";
import {
  DYNAMODB_LOCAL_CREDENTIALS,
  DYNAMODB_LOCAL_REGION,
  localClient,
  startDynamoDBLocal,
} from "../../test/support/dynamodb-local.js";
import { Latencies } from "./report.js";

const iterations = Number(process.argv[2] ?? 100);
const ddb = await startDynamoDBLocal();
try {
  const table = "edgelock-latency";
  await createLockTable(localClient(ddb.endpoint), { table });
  const adapter = dynamodbAdapter({
    table,
    endpoint: ddb.endpoint,
    region: DYNAMODB_LOCAL_REGION,
    credentials: DYNAMODB_LOCAL_CREDENTIALS,
  });
  const latencies = new Latencies();
  const key = `latency-${newToken()}`;
  for (let i = 0; i < iterations + 10; i++) {
    const token = newToken();
    const warm = i < 10; // the first requests pay for connection setup and SDK warm-up
    await latencies.time("acquire", () => adapter.acquire({ key, token, ttlMs: 10_000 }), warm);
    await latencies.time("extend", () => adapter.extend({ key, token, ttlMs: 10_000 }), warm);
    await latencies.time("inspect", () => adapter.inspect(key), warm);
    await latencies.time("release", () => adapter.release({ key, token }), warm);
  }
  console.log(`DynamoDB Local, one request per operation, Node ${process.version}:`);
  for (const line of latencies.lines()) console.log(line);
} finally {
  await ddb.stop();
}
