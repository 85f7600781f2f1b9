import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLockService } from "../../service/app.js";
import { listen, type NodeService } from "../../service/platforms/node.js";
import { memoryAdapter } from "../../src/index.js";

// Requests Node's HTTP layer refuses before the app sees them still get a
// JSON answer, as the contract says of every answer.
const TOKEN = "node-edges-token-0001";
let service: NodeService;
beforeAll(async () => {
  service = await listen(createLockService({ adapter: memoryAdapter(), tokens: TOKEN }), { port: 0 });
});
afterAll(() => service?.close());

/** Send raw bytes and read the whole answer (the server closes or answers one message). */
function raw(request: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(service.port, "127.0.0.1");
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => {
      data += chunk;
      const end = data.indexOf("\r\n\r\n");
      const length = /content-length:\s*(\d+)/i.exec(data.slice(0, end))?.[1];
      if (end >= 0 && length !== undefined && data.length >= end + 4 + Number(length)) socket.destroy();
    });
    socket.on("close", () => {
      const end = data.indexOf("\r\n\r\n");
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0),
        headers: data.slice(0, end),
        body: data.slice(end + 4),
      });
    });
    socket.on("error", reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer")));
    socket.write(request);
  });
}

describe("Node entry: answers its HTTP layer gives are JSON too", () => {
  const cases: [string, string, number][] = [
    ["a malformed Host", "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
    ["a backslash path", "GET \\healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET *", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["a URL over 16 KB", `GET /v1/locks/${"a".repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    ["a malformed request line", "NOT HTTP\r\n\r\n", 400],
  ];
  test.each(cases)("%s → %s with a JSON body", async (_name, request, status) => {
    const answer = await raw(request);
    expect(answer.status).toBe(status);
    expect(answer.headers).toMatch(/content-type: application\/json/i);
    const body = JSON.parse(answer.body) as { error?: unknown };
    expect(typeof body.error).toBe("string");
  });

  test("the server keeps answering afterwards", async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});
