import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { httpAdapter } from "../../adapters/http/index.js";
import { upstashAdapter } from "../../adapters/upstash/index.js";
import { createLockService } from "../../service/app.js";
import { listen } from "../../service/platforms/node.js";
import { createLocker } from "../../src/index.js";
import { startUpstash, type UpstashFixture } from "../support/upstash-rest.js";

const TOKEN = "logging-user-token-1";
let upstash: UpstashFixture;
beforeAll(async () => {
  upstash = await startUpstash();
}, 60_000);
afterAll(() => upstash?.stop());

describe("structured logs (log: json)", () => {
  test("one JSON line per request with operation, key, status and duration, and per backend error; never a token", async () => {
    const lines: string[] = [];
    const local = await listen(
      createLockService({
        adapter: upstashAdapter({ url: upstash.url, token: upstash.token }),
        tokens: TOKEN,
        log: "json",
        logWriter: (line) => lines.push(line),
      }),
      { port: 0 },
    );
    const broken = await listen(
      createLockService({
        adapter: upstashAdapter({ url: "http://127.0.0.1:9", token: "t" }),
        tokens: TOKEN,
        log: "json",
        logWriter: (line) => lines.push(line),
      }),
      { port: 0 },
    );
    try {
      const lease = await createLocker({ adapter: httpAdapter({ url: local.url, token: TOKEN }) }).tryAcquire("logged");
      await lease?.release();
      expect(
        (await fetch(`${broken.url}/v1/locks/down`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      ).toBe(503);
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records.filter((r) => r.event === "request").map((r) => [r.operation, r.key, r.status])).toEqual([
        ["acquire", "logged", 200],
        ["release", "logged", 200],
        ["inspect", "down", 503],
      ]);
      expect(records.find((r) => r.event === "error")).toMatchObject({ level: "error", code: "backend_unavailable" });
      for (const record of records) expect(typeof record.time).toBe("string");
      const text = lines.join("\n");
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(lease?.token ?? "no lease");
    } finally {
      await local.close();
      await broken.close();
    }
  });
});
