import { afterAll, beforeAll, expect, test } from "vitest";
import { durableObjectAdapter } from "../../adapters/durable-object/index.js";
import { type SemaphoreObjectRpc, semaphoreObjectName } from "../../adapters/durable-object/semaphore-protocol.js";
import { createLocker, type LockAdapter, type SemaphoreAdapter } from "../../src/index.js";
import { type LockWorker, startLockWorker } from "../support/miniflare.js";
import { sleep } from "../support/timing.js";

let worker: LockWorker;
let adapter: LockAdapter;
beforeAll(async () => {
  worker = await startLockWorker();
  adapter = durableObjectAdapter({ namespace: worker.namespace });
}, 60_000);
afterAll(() => worker?.stop(), 30_000);

/** The adapter with its semaphore acquires counted (each one RPC call). */
function counted(): { adapter: LockAdapter; acquires: () => number } {
  const semaphores = adapter.semaphores as SemaphoreAdapter;
  let acquires = 0;
  return {
    adapter: {
      ...adapter,
      semaphores: {
        ...semaphores,
        acquire: (request) => {
          acquires++;
          return semaphores.acquire(request);
        },
      },
    },
    acquires: () => acquires,
  };
}

test("durable-object semaphore: waiters queue in the object and are granted FIFO by push, one request each", async () => {
  const key = `sem-fifo-${Math.random().toString(36).slice(2, 8)}`;
  const holders = await Promise.all(
    [1, 2].map(() => createLocker({ adapter }).semaphore(key, { limit: 2 }).tryAcquire({ ttlMs: 30_000 })),
  );
  const object = worker.namespace.get(
    worker.namespace.idFromName(semaphoreObjectName(key)),
  ) as unknown as SemaphoreObjectRpc;
  const queued = async () => (await object.semaphoreInspect()).waiting;
  const fences: number[] = [];
  const waiters = Array.from({ length: 6 }, () => counted());
  const done: Promise<void>[] = [];
  for (const [i, waiter] of waiters.entries()) {
    done.push(
      (async () => {
        const permit = await createLocker({ adapter: waiter.adapter })
          .semaphore(key, { limit: 2 })
          .acquire({ ttlMs: 30_000, waitMs: 60_000 });
        fences[i] = permit.fence;
        await sleep(50);
        await permit.release();
      })(),
    );
    // The ordering signal: the next waiter starts only once the object has queued this one.
    while ((await queued()) < i + 1) await sleep(10);
  }
  await Promise.all(holders.map((permit) => permit?.release()));
  await Promise.all(done);
  // Each freed permit goes to the head of the queue, so the object's fences follow the arrival order.
  const first = Math.max(...holders.map((permit) => permit?.fence ?? Number.NaN));
  expect(fences).toEqual(waiters.map((_, i) => first + 1 + i));
  for (const waiter of waiters) expect(waiter.acquires()).toBe(1);
  expect(await queued()).toBe(0);
}, 60_000);

test("durable-object semaphore: an expired permit is handed to a waiter by the object's alarm", async () => {
  const key = `sem-alarm-${Math.random().toString(36).slice(2, 8)}`;
  const dead = await createLocker({ adapter }).semaphore(key, { limit: 1 }).tryAcquire({ ttlMs: 600 });
  if (!dead) throw new Error("expected a permit");
  const waiter = counted();
  const started = Date.now();
  const permit = await createLocker({ adapter: waiter.adapter })
    .semaphore(key, { limit: 1 })
    .acquire({ ttlMs: 5_000, waitMs: 20_000 });
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(permit.fence).toBeGreaterThan(dead.fence);
  expect(waiter.acquires()).toBe(1);
  await permit.release();
}, 30_000);
