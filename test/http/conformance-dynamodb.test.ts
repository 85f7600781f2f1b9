import { createLockTable } from "../../adapters/dynamodb/index.js";
import { httpAdapter } from "../../adapters/http/index.js";
import { type NodeService, startFromEnv } from "../../service/platforms/node.js";
import { describeConformance } from "../conformance/index.js";
import { type CountingProxy, startCountingProxy } from "../support/counting-proxy.js";
import {
  DYNAMODB_LOCAL_CREDENTIALS,
  DYNAMODB_LOCAL_REGION,
  type DynamoDBLocal,
  localClient,
  startDynamoDBLocal,
} from "../support/dynamodb-local.js";

const TOKEN = "conformance-token-dynamodb";
const TABLE = "http-conformance";
let ddb: DynamoDBLocal | undefined;
let proxy: CountingProxy | undefined;
let service: NodeService | undefined;
const url = () => {
  if (!service) throw new Error("the service is not started");
  return service.url;
};

// A client-clock backend behind the service, configured only by environment
// variables as the Lambda entry is: httpAdapter → loopback HTTP → the service
// → the DynamoDB adapter (skew margin applied on the service's side) →
// DynamoDB Local.
describeConformance({
  name: "http over dynamodb (Node entry)",
  sendsRetryAfter: true,
  async setup() {
    ddb = await startDynamoDBLocal();
    const client = localClient(ddb.endpoint);
    await createLockTable(client, { table: TABLE });
    proxy = await startCountingProxy(ddb.endpoint);
    service = await startFromEnv({
      EDGELOCK_BACKEND: "dynamodb",
      EDGELOCK_DYNAMODB_TABLE: TABLE,
      // Through a proxy that counts the backend requests the service sends.
      EDGELOCK_DYNAMODB_ENDPOINT: proxy.url,
      // Small, to keep the suite's expiry cases short; production default is 1 000 ms.
      EDGELOCK_DYNAMODB_CLOCK_SKEW_MARGIN_MS: "100",
      AWS_REGION: DYNAMODB_LOCAL_REGION,
      AWS_ACCESS_KEY_ID: DYNAMODB_LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DYNAMODB_LOCAL_CREDENTIALS.secretAccessKey,
      EDGELOCK_API_TOKENS: TOKEN,
      // The suite's lock client sends its namespace and a 256-byte key as one key.
      EDGELOCK_MAX_KEY_BYTES: "384",
      PORT: "0",
    });
  },
  // As docs/http.md advises for a service over DynamoDB: the client knows the
  // backend's margin, so its leases end that much early and its hints fit.
  create: ({ fetch }) => httpAdapter({ url: url(), token: TOKEN, fetch, clockSkewMarginMs: 100 }),
  backendRequests: () => proxy?.requests() ?? 0,
  async cleanup() {
    await service?.close();
    await proxy?.stop();
    await ddb?.stop();
  },
});
