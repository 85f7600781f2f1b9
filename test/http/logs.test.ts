import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { createLockService } from "../../service/app.js";
import { listen, type NodeService } from "../../service/platforms/node.js";
import { BackendError, type LockAdapter, memoryAdapter, newToken } from "../../src/index.js";
import { sleep } from "./helpers.js";

// Clients that disconnect during a backend call, in a loop, must not flood
// the logs: one short line per event, rate-limited, never a stack or a token.
const TOKEN = "logs-token-000000001";
const owner = newToken();
const inner = memoryAdapter();
// A backend call that fails only once its caller is gone, naming a token as careless adapters do.
const adapter: LockAdapter = {
  ...inner,
  capabilities: inner.capabilities,
  inspect: (_key, options) =>
    new Promise((_, reject) => {
      options?.signal?.addEventListener("abort", () =>
        reject(
          new BackendError(`EVALSHA failed for owner ${owner}\n    at somewhere (x.js:1:1)`, { maybeApplied: true }),
        ),
      );
    }),
};
let service: NodeService;
const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
beforeAll(async () => {
  service = await listen(createLockService({ adapter, tokens: TOKEN }), { port: 0 });
});
afterAll(async () => {
  errors.mockRestore();
  await service?.close();
});

test("50 clients disconnecting during a backend call log at most a few short lines, without tokens", async () => {
  await Promise.all(
    Array.from({ length: 50 }, () =>
      fetch(`${service.url}/v1/locks/k`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: AbortSignal.timeout(200),
      }).catch(() => undefined),
    ),
  );
  await sleep(500);
  const lines = errors.mock.calls;
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.length).toBeLessThanOrEqual(5);
  for (const args of lines) {
    expect(args).toHaveLength(1);
    const line = String(args[0]);
    expect(line).not.toContain("\n");
    expect(line).not.toContain(owner);
    expect(line).not.toContain(TOKEN);
    expect(line).toMatch(/^edgelock service: inspect ended, caller disconnected: BackendError/);
  }
});
