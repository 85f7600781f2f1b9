import { afterAll, beforeAll, expect, test } from "vitest";
import { startDevFront } from "../../scripts/dev-front.mjs";
import { DEPARTED_PATH, FRONT_REQUEST_HEADER, FRONT_SECRET_HEADER } from "../../service/platforms/dev-front.js";
import { type LockWorker, startLockWorker } from "../support/miniflare.js";
import { departingPost } from "./helpers.js";

// `npm start`'s front before the real Worker in workerd, as scripts/start.mjs
// runs them: a client that disconnects while it waits is withdrawn.
const TOKEN = "departed-waiter-token";
const SECRET = "departed-waiter-front-secret";
let worker: LockWorker;
let front: Awaited<ReturnType<typeof startDevFront>>;
const reports: number[] = [];
let reported: () => void = () => {};

beforeAll(async () => {
  worker = await startLockWorker({ bindings: { EDGELOCK_API_TOKENS: TOKEN, EDGELOCK_DEV_FRONT_SECRET: SECRET } });
  front = await startDevFront({
    host: "127.0.0.1",
    port: 0,
    upstreamPort: Number(worker.url.port),
    secret: SECRET,
    onDeparted: (status) => {
      reports.push(status);
      reported();
    },
  });
}, 60_000);
afterAll(async () => {
  await front?.close();
  await worker?.stop();
});

const call = async (base: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(new URL(path, base), {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
};
const frontUrl = () => `http://127.0.0.1:${front.port}/`;

test("a waiter whose client disconnects is withdrawn: the next live waiter gets the lock, the departed token never", async () => {
  const key = "/v1/locks/departed";
  const holder = await call(frontUrl(), "POST", `${key}/acquire`, { ttlMs: 30_000 });
  expect(holder.status).toBe(200);
  const gone = "departedWaiterToken001";
  const report = new Promise<void>((resolve) => {
    reported = resolve;
  });
  const left = departingPost(
    front.port,
    `${key}/acquire`,
    TOKEN,
    { ttlMs: 30_000, waitMs: 20_000, token: gone, owner: "departed" },
    500,
  );
  // Queued after the departing waiter (FIFO): granted at release only if that one was withdrawn.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const live = call(frontUrl(), "POST", `${key}/acquire`, { ttlMs: 30_000, waitMs: 20_000, owner: "live" });
  expect(await left).toBe("");
  await report;
  expect((await call(frontUrl(), "POST", `${key}/release`, { token: holder.json.token })).status).toBe(200);
  expect(await live).toMatchObject({ status: 200, json: { fence: (holder.json.fence as number) + 1 } });
  expect((await call(frontUrl(), "GET", key)).json).toMatchObject({ held: true, owner: "live" });
  expect((await call(frontUrl(), "POST", `${key}/release`, { token: gone })).status).toBe(409);
  // 204: the Worker ended the departed request (its wait withdrawn) before it answered the report.
  expect(reports).toEqual([204]);
}, 60_000);

test("the front's headers count only with its secret: a client cannot report departures itself", async () => {
  const forged = await fetch(new URL(DEPARTED_PATH, worker.url), {
    method: "POST",
    headers: { [FRONT_SECRET_HEADER]: "not-the-secret", [FRONT_REQUEST_HEADER]: "anything" },
  });
  expect(forged.status).toBe(404);
  expect(await forged.json()).toMatchObject({ error: "not_found" });
  // Through the front, a client's own copies of the headers are replaced.
  const through = await fetch(new URL(DEPARTED_PATH, frontUrl()), {
    method: "POST",
    headers: { [FRONT_SECRET_HEADER]: "not-the-secret", [FRONT_REQUEST_HEADER]: "anything" },
  });
  expect(through.status).toBe(404);
  // Served as usual otherwise.
  expect((await fetch(new URL("/healthz", frontUrl()))).status).toBe(200);
});
