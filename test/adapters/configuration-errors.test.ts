import { afterEach, describe, expect, test, vi } from "vitest";
import { azureBlobAdapter } from "../../adapters/azure-blob/index.js";
import { dynamodbAdapter } from "../../adapters/dynamodb/index.js";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { BackendError, BackendRejectedError, createLocker, type LockAdapter } from "../../src/index.js";
import { AZURITE_ACCOUNT } from "../support/azurite.js";
import { DYNAMODB_LOCAL_CREDENTIALS, DYNAMODB_LOCAL_REGION } from "../support/dynamodb-local.js";
import { freePort } from "../support/ports.js";
import { startUpstash } from "../support/upstash-rest.js";
import { TABLE, useDynamoDBLocal } from "./dynamodb-fixture.js";

// Configuration mistakes are BackendRejectedError naming what is missing,
// thrown once and never retried; an unreachable host names its root cause.
const ddb = useDynamoDBLocal();
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A locker that counts adapter calls and background reports. */
function watched(adapter: LockAdapter) {
  let calls = 0;
  const reported: unknown[] = [];
  const counted: LockAdapter = {
    ...adapter,
    acquire: (request) => {
      calls++;
      return adapter.acquire(request);
    },
  };
  const locker = createLocker({ adapter: counted, onBackgroundError: (e) => reported.push(e) });
  return { locker, calls: () => calls, reported };
}

describe("DynamoDB configuration errors", () => {
  test("no region: BackendRejectedError naming the region, one attempt, no clean-up release", async () => {
    for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"]) vi.stubEnv(name, undefined);
    vi.stubEnv("AWS_CONFIG_FILE", "/nonexistent/edgelock-config");
    const { locker, calls, reported } = watched(
      dynamodbAdapter({ table: TABLE, endpoint: ddb.endpoint(), credentials: DYNAMODB_LOCAL_CREDENTIALS }),
    );
    const error = await locker.tryAcquire("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect((error as Error).message).toMatch(/region/i);
    expect(calls()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reported).toEqual([]);
  });

  test("no credentials: BackendRejectedError naming the credentials, one attempt", async () => {
    for (const name of [
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_PROFILE",
      "AWS_WEB_IDENTITY_TOKEN_FILE",
      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
      "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/edgelock-credentials");
    vi.stubEnv("AWS_CONFIG_FILE", "/nonexistent/edgelock-config");
    vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
    const { locker, calls } = watched(
      dynamodbAdapter({ table: TABLE, endpoint: ddb.endpoint(), region: DYNAMODB_LOCAL_REGION }),
    );
    const error = await locker.tryAcquire("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect((error as Error).message).toMatch(/credentials/i);
    expect(calls()).toBe(1);
  });

  test("a missing table is rejected too, naming the table", async () => {
    const adapter = dynamodbAdapter({
      table: "no-such-table",
      endpoint: ddb.endpoint(),
      region: DYNAMODB_LOCAL_REGION,
      credentials: DYNAMODB_LOCAL_CREDENTIALS,
    });
    const error = await createLocker({ adapter })
      .tryAcquire("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect((error as Error).message).toMatch(/no-such-table|ResourceNotFound/);
  });
});

describe("an unreachable host names the root cause on every adapter", () => {
  const adapters = (base: string): Array<[string, LockAdapter]> => [
    ["upstash", upstashAdapter({ url: base, token: "t" })],
    [
      "dynamodb",
      dynamodbAdapter({
        table: TABLE,
        endpoint: base,
        region: DYNAMODB_LOCAL_REGION,
        credentials: DYNAMODB_LOCAL_CREDENTIALS,
      }),
    ],
    [
      "azure-blob",
      azureBlobAdapter({
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${btoa("k".repeat(32))};BlobEndpoint=${base}/${AZURITE_ACCOUNT};`,
        container: "locks",
      }),
    ],
  ];
  const failure = async (adapter: LockAdapter) => {
    const error = await createLocker({ adapter, retries: 0, requestTimeoutMs: 5_000, onBackgroundError: () => {} })
      .tryAcquire("k")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    return (error as Error).message;
  };

  test("connection refused", async () => {
    const port = await freePort();
    for (const [name, adapter] of adapters(`http://127.0.0.1:${port}`)) {
      expect(await failure(adapter), name).toMatch(/ECONNREFUSED/);
    }
  });

  test("TLS spoken to a plain HTTP server (the real Upstash endpoint)", async () => {
    const upstash = await startUpstash();
    try {
      for (const [name, adapter] of adapters(upstash.url.replace("http:", "https:"))) {
        expect(await failure(adapter), name).toMatch(/SSL|TLS|EPROTO|wrong version/i);
      }
    } finally {
      await upstash.stop();
    }
  });

  test("unknown host", async () => {
    for (const [name, adapter] of adapters("http://edgelock-no-such-host.invalid")) {
      expect(await failure(adapter), name).toMatch(/ENOTFOUND|EAI_AGAIN|getaddrinfo/);
    }
  });
});
