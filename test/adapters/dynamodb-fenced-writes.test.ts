import {
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { beforeAll, describe, expect, test } from "vitest";
import { fencedPut, fencedUpdate, isFenceRejection } from "../../adapters/dynamodb/index.js";
import { createLocker, InvalidArgumentError, newToken } from "../../src/index.js";
import { sleep } from "../support/timing.js";
import { MARGIN_MS, useDynamoDBLocal } from "./dynamodb-fixture.js";

const { rawClient, rawItem, adapter } = useDynamoDBLocal();
const USER_TABLE = "user-reports";

beforeAll(async () => {
  await rawClient().send(
    new CreateTableCommand({
      TableName: USER_TABLE,
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
}, 60_000);

const item = async (id: string) =>
  (await rawClient().send(new GetItemCommand({ TableName: USER_TABLE, Key: { id: { S: id } }, ConsistentRead: true })))
    .Item;

describe("dynamodb fenced writes to the user's own item", () => {
  test("a holder pauses past its TTL, another takes over and writes, the paused holder's late write is refused", async () => {
    const id = `report-${newToken()}`;
    const a = createLocker({ adapter: adapter() });
    const b = createLocker({ adapter: adapter() });
    const paused = await a.acquire(id, { ttlMs: 3 * MARGIN_MS });
    await sleep(3 * MARGIN_MS + 2 * MARGIN_MS + 100); // GC pause, frozen Lambda…
    const next = await b.acquire(id, { ttlMs: 10_000 });
    expect(next.fence).toBeGreaterThan(paused.fence);
    const put = (fence: number, by: string) =>
      rawClient().send(
        new PutItemCommand(fencedPut({ TableName: USER_TABLE, Item: { id: { S: id }, by: { S: by } } }, fence)),
      );
    await put(next.fence, "next");
    await put(next.fence, "next again"); // one lease may write several times
    const late = await put(paused.fence, "paused").catch((e: unknown) => e);
    expect(isFenceRejection(late)).toBe(true);
    expect(await item(id)).toEqual({ id: { S: id }, by: { S: "next again" }, fence: { N: String(next.fence) } });
    await next.release();
  }, 30_000);

  test("UpdateItem: the fence joins the SET clause and the user's own condition", async () => {
    const id = `account-${newToken()}`;
    await rawClient().send(
      new PutItemCommand({
        TableName: USER_TABLE,
        Item: { id: { S: id }, balance: { N: "10" }, open: { BOOL: true } },
      }),
    );
    const update = (fence: number, amount: number) =>
      rawClient().send(
        new UpdateItemCommand(
          fencedUpdate(
            {
              TableName: USER_TABLE,
              Key: { id: { S: id } },
              UpdateExpression: "set balance = balance + :amount REMOVE pending",
              ConditionExpression: "#open = :yes",
              ExpressionAttributeNames: { "#open": "open" },
              ExpressionAttributeValues: { ":amount": { N: String(amount) }, ":yes": { BOOL: true } },
            },
            fence,
          ),
        ),
      );
    await update(5, 1);
    await update(7, 2);
    expect(isFenceRejection(await update(6, 100).catch((e: unknown) => e))).toBe(true);
    expect(await item(id)).toMatchObject({ balance: { N: "13" }, fence: { N: "7" } });
    // once: the same fence may not write twice.
    const once = await rawClient()
      .send(
        new UpdateItemCommand(
          fencedUpdate<UpdateItemCommandInput>({ TableName: USER_TABLE, Key: { id: { S: id } } }, 7, {
            once: true,
            attribute: "fence",
          }),
        ),
      )
      .catch((e: unknown) => e);
    expect(isFenceRejection(once)).toBe(true);
  });

  test("TransactWriteItems: a stale fence on one item cancels the whole transaction", async () => {
    const [x, y] = [`tx-${newToken()}`, `tx-${newToken()}`];
    const transact = (fence: number) =>
      rawClient().send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: fencedPut({ TableName: USER_TABLE, Item: { id: { S: x }, n: { N: String(fence) } } }, fence) },
            {
              Update: fencedUpdate(
                {
                  TableName: USER_TABLE,
                  Key: { id: { S: y } },
                  UpdateExpression: "SET n = :n",
                  ExpressionAttributeValues: { ":n": { N: String(fence) } },
                },
                fence,
              ),
            },
          ],
        }),
      );
    await transact(9);
    const stale = await transact(8).catch((e: unknown) => e);
    expect(isFenceRejection(stale)).toBe(true);
    expect(await item(x)).toMatchObject({ n: { N: "9" }, fence: { N: "9" } });
    expect(await item(y)).toMatchObject({ n: { N: "9" }, fence: { N: "9" } });
  });

  test("bad fences and double fencing are InvalidArgumentError", () => {
    for (const fence of [0, -1, 1.5, Number.NaN]) {
      expect(() => fencedPut({ TableName: USER_TABLE, Item: {} }, fence)).toThrow(InvalidArgumentError);
    }
    const once = fencedUpdate<UpdateItemCommandInput>({ TableName: USER_TABLE, Key: {} }, 3);
    expect(() => fencedUpdate(once, 4)).toThrow(InvalidArgumentError);
  });
});

describe("dynamodb guarded value and the lock item", () => {
  test("an item holding a value is kept from TTL clean-up; after deleteValue the lock's own clean-up time returns", async () => {
    const locker = createLocker({ adapter: adapter() });
    const key = `kept-${newToken()}`;
    const lease = await locker.acquire(key, { ttlMs: 10_000 });
    await lease.write({ step: 1 });
    await lease.extend();
    await lease.release();
    const kept = await rawItem(key);
    expect(kept?.valueHeld?.N).toBe("253402300799");
    expect(kept?.cleanupAt?.N).toBe("253402300799");
    expect(kept?.value?.S).toBe('{"step":1}');
    const again = await locker.acquire(key, { ttlMs: 10_000 });
    await again.deleteValue();
    await again.release();
    const cleared = await rawItem(key);
    expect(cleared?.valueHeld).toBeUndefined();
    expect(Number(cleared?.cleanupAt?.N)).toBeLessThan(Date.now() / 1000 + 2 * 86_400);
    expect(cleared?.value).toBeUndefined();
  }, 30_000);
});
