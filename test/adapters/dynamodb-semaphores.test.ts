import { expect, test } from "vitest";
import { createLocker, type Permit } from "../../src/index.js";
import { countingFetch } from "../support/counting-fetch.js";
import { expectLimitHolds } from "../support/permit-churn.js";
import { useDynamoDBLocal } from "./dynamodb-fixture.js";

const { adapter } = useDynamoDBLocal();

/** A fetch that counts requests and loses the answer of every `loseEvery`-th (the request still applies). */
const wire = (loseEvery = 0) => countingFetch({ loseEvery });

test("dynamodb semaphore: 6 separate adapter instances (no shared cache) under lost answers never exceed the limit", async () => {
  const key = `sem-instances-${Math.random().toString(36).slice(2, 8)}`;
  const limit = 2;
  await expectLimitHolds({
    semaphore: (i) =>
      createLocker({
        adapter: adapter({ fetch: wire(4 + i).fetch }),
        backoff: { baseMs: 10, maxMs: 80 },
        onBackgroundError: () => {},
      }).semaphore(key, { limit }),
    limit,
    workers: 6,
    holdMs: 200,
    waitMs: 20_000,
  });
}, 60_000);

test("dynamodb semaphore: a cold instance pays one extra write to learn the item, then one per acquire", async () => {
  const key = `sem-cold-${Math.random().toString(36).slice(2, 8)}`;
  const first = await createLocker({ adapter: adapter() }).semaphore(key, { limit: 3 }).tryAcquire({ ttlMs: 10_000 });
  const counted = wire();
  const semaphore = createLocker({ adapter: adapter({ fetch: counted.fetch }) }).semaphore(key, { limit: 3 });
  const permits: (Permit | null)[] = [];
  permits.push(await semaphore.tryAcquire({ ttlMs: 10_000 }));
  expect(counted.state.requests).toBe(2);
  permits.push(await semaphore.tryAcquire({ ttlMs: 10_000 }));
  expect(counted.state.requests).toBe(3);
  expect(await semaphore.tryAcquire({ ttlMs: 10_000 })).toBeNull();
  // A refusal is never decided on a remembered copy: one fresh read.
  expect(counted.state.requests).toBe(4);
  // Another instance's release is seen by the next acquire.
  await first?.release();
  const after = await semaphore.tryAcquire({ ttlMs: 10_000 });
  expect(after).not.toBeNull();
  permits.push(after);
  await Promise.all(permits.map((permit) => permit?.release()));
}, 30_000);

test("dynamodb semaphore: more expired entries than one write may remove are cleared first, then the new limit applies", async () => {
  const key = `sem-many-stale-${Math.random().toString(36).slice(2, 8)}`;
  const old = createLocker({ adapter: adapter() }).semaphore(key, { limit: 40 });
  for (let i = 0; i < 40; i++) expect(await old.tryAcquire({ ttlMs: 10_000 })).not.toBeNull();
  // A client a minute ahead sees all 40 expired (holders that died): 40 entries to remove, more than one write's 32.
  const counted = wire();
  const later = () => Date.now() + 60_000;
  const semaphore = createLocker({ adapter: adapter({ fetch: counted.fetch, now: later }) }).semaphore(key, {
    limit: 2,
  });
  const permit = await semaphore.tryAcquire({ ttlMs: 10_000 });
  expect(permit).not.toBeNull();
  // Cold attempt (returns the item), a clean-up write of 32, then the write that removes 8 and adds the permit.
  expect(counted.state.requests).toBe(3);
  const state = await semaphore.inspect();
  expect(state.limit).toBe(2);
  expect(state.permits).toHaveLength(1);
  await permit?.release();
}, 30_000);
