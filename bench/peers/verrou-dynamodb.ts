/**
 * `@verrou/core` 0.5.2 with its DynamoDB store, on the same DynamoDB Local
 * as edgelock's adapter (in its own table, which the store creates). It
 * stores `owner` and an absolute `expires_at` from the client clock, with no
 * fencing token; it polls with a fixed delay (its default, 250 ms).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { Verrou } from "@verrou/core";
import { dynamodbStore } from "@verrou/core/drivers/dynamodb";
import type { Contender, Held, LockDriver } from "../driver.js";
import type { Meter } from "../measure.js";

/** `@verrou/core`'s default delay between attempts, ms. */
const RETRY_DELAY_MS = 250;

export function verrouDynamoDBDriver(options: {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  meter: Meter;
}): LockDriver {
  const prefix = `peer-${Math.random().toString(36).slice(2, 8)}:`;

  // Each contender its own SDK client and `Verrou` (its store sends one CreateTable when built:
  // the bench warms contenders before it measures).
  const contender = (): Contender => {
    const client = new DynamoDBClient({
      endpoint: options.endpoint,
      region: options.region,
      credentials: options.credentials,
      requestHandler: new FetchHttpHandler({ customFetch: options.meter.fetch }),
    });
    const verrou = new Verrou({
      default: "dynamo",
      stores: { dynamo: { driver: dynamodbStore({ connection: client, table: { name: "verrou_bench" } }) } },
    });
    const held = (lock: ReturnType<typeof verrou.createLock>): Held => ({
      extend: (ttl) => lock.extend(ttl),
      release: () => lock.release(),
    });
    return {
      async tryAcquire(key, ttlMs) {
        const lock = verrou.createLock(prefix + key, ttlMs);
        return (await lock.acquireImmediately()) ? held(lock) : null;
      },
      async acquire(key, ttlMs, waitMs) {
        const lock = verrou.createLock(prefix + key, ttlMs);
        const ok = await lock.acquire({
          retry: { attempts: Number.POSITIVE_INFINITY, delay: RETRY_DELAY_MS, timeout: waitMs },
        });
        if (!ok) throw new Error(`@verrou/core: ${key} still held after ${waitMs} ms`);
        return held(lock);
      },
      async close() {
        client.destroy();
      },
    };
  };

  const shared = contender();
  return {
    name: "@verrou/core 0.5.2",
    backend: "DynamoDB Local",
    counting: "fetch",
    meter: options.meter,
    semaphores: false,
    shared,
    contender,
    close: () => shared.close(),
  };
}
