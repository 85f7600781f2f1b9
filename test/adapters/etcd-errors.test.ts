import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { etcdAdapter } from "../../adapters/etcd/index.js";
import { BackendError, BackendRejectedError, newToken } from "../../src/index.js";
import { type EtcdServer, startEtcd } from "../support/etcd.js";

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(() => etcd?.stop());

/**
 * An adapter on the real etcd whose transactions get `answer` instead (as a
 * proxy or an overloaded member would), after the real lease grant.
 */
function answering(status: number, body: string) {
  const fetchImpl: typeof fetch = (input, init) =>
    new URL(String(input)).pathname === "/v3/kv/txn"
      ? Promise.resolve(new Response(body, { status, headers: { "content-type": "application/json" } }))
      : fetch(input, init);
  return etcdAdapter({ endpoint: etcd.url, prefix: "errors/", fetch: fetchImpl });
}

const grpcError = (code: number, message: string) => JSON.stringify({ error: message, message, code });

async function failures(status: number, body: string) {
  const adapter = answering(status, body);
  const key = `k-${newToken()}`;
  return {
    acquire: await adapter.acquire({ key, token: newToken(), ttlMs: 5_000 }).catch((e: unknown) => e),
    inspect: await adapter.inspect(key).catch((e: unknown) => e),
  };
}

// etcd's answers go through the shared HTTP mapping (src/internal/http-failure.ts), its gRPC code standing for the status.
describe("etcd error answers", () => {
  test("an unavailable member (code 14) may have applied a write, not a read", async () => {
    const { acquire, inspect } = await failures(503, grpcError(14, "etcdserver: request timed out"));
    expect(acquire).toBeInstanceOf(BackendError);
    expect(acquire).toMatchObject({ maybeApplied: true, retryable: true, status: 503 });
    expect(inspect).toMatchObject({ maybeApplied: false, retryable: true, status: 503 });
    expect((acquire as Error).message).toContain("request timed out");
  });

  test("the gRPC code decides, even on a 200 answer", async () => {
    const { acquire } = await failures(200, grpcError(14, "etcdserver: no leader"));
    expect(acquire).toMatchObject({ maybeApplied: true, retryable: true, status: 503 });
    const throttled = await failures(200, grpcError(8, "etcdserver: too many requests"));
    expect(throttled.acquire).toMatchObject({ maybeApplied: false, retryable: true, status: 429 });
  });

  test("a lease gone before its transaction (code 5) was not applied and is retryable", async () => {
    const { acquire } = await failures(404, grpcError(5, "etcdserver: requested lease not found"));
    expect(acquire).toBeInstanceOf(BackendError);
    expect(acquire).toMatchObject({ maybeApplied: false, retryable: true });
  });

  test("invalid argument, failed precondition, compaction, permission: rejected", async () => {
    for (const [status, code] of [
      [400, 3],
      [400, 9],
      [400, 11],
      [403, 7],
      [401, 16],
    ] as const) {
      const { acquire } = await failures(status, grpcError(code, `refused with ${code}`));
      expect(acquire, String(code)).toBeInstanceOf(BackendRejectedError);
    }
  });

  test("a proxy's answer without a gRPC code: its HTTP status decides", async () => {
    const gateway = await failures(502, "<html>bad gateway</html>");
    expect(gateway.acquire).toMatchObject({ maybeApplied: true, retryable: true, status: 502 });
    expect((gateway.acquire as Error).message).not.toContain("<html>");
    const missing = await failures(404, "404 page not found");
    expect(missing.acquire).toBeInstanceOf(BackendRejectedError);
    const cut = await failures(200, '{"header":');
    expect(cut.acquire).toMatchObject({ maybeApplied: true, retryable: false });
  });
});
