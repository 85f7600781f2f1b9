import { inspect } from "node:util";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, expect, test } from "vitest";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { BackendError, createLocker, type LockAdapter } from "../../src/index.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
});
afterAll(() => upstash?.stop());

/** Everything an error shows: message, stack, own fields and the cause chain. */
const shown = (error: unknown): string => {
  const parts = [inspect(error, { depth: 12 })];
  for (let e: unknown = error, i = 0; e instanceof Error && i < 12; e = e.cause, i++)
    parts.push(e.message, e.stack ?? "");
  return parts.join("\n");
};

test("a user's @upstash/redis client echoes the command, owner token included; no error edgelock throws or reports shows it", async () => {
  const redis = new Redis({
    url: upstash.url,
    token: upstash.token,
    retry: false,
    enableTelemetry: false,
    enableAutoPipelining: false,
  });
  const base = upstashAdapter({ redis, prefix: "redact:" });
  const tokens: string[] = [];
  const adapter: LockAdapter = {
    ...base,
    acquire: (request) => {
      tokens.push(request.token);
      return base.acquire(request);
    },
  };
  // Foreign data at the lock key makes the script fail inside Redis; without
  // auto-pipelining the client puts the whole command in its error.
  await upstash.redis.set("redact:{job}:lock", "not a hash");
  const reported: unknown[] = [];
  const locker = createLocker({ adapter, onBackgroundError: (e) => reported.push(e) });
  const error = await locker.tryAcquire("job").catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BackendError);
  const token = tokens[0] ?? "";
  expect(token).toHaveLength(22);
  // The client's own error does carry it: the case is real.
  const raw = await redis
    .eval("return redis.call('hget', KEYS[1], ARGV[1])", ["redact:{job}:lock"], [token])
    .catch((e: unknown) => e);
  expect(shown(raw)).toContain(token);
  // The adapter keeps the error without the echo, so the service's logs never see it either.
  const direct = await base.acquire({ key: "job", token, ttlMs: 1_000 }).catch((e: unknown) => e);
  expect(direct).toBeInstanceOf(BackendError);
  expect(shown(direct)).not.toContain(token);

  expect(shown(error)).not.toContain(token);
  await expect.poll(() => reported.length, { timeout: 10_000 }).toBeGreaterThan(0);
  for (const background of reported) expect(shown(background)).not.toContain(token);
});
