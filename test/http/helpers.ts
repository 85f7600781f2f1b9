import { connect } from "node:net";
import type { Hono } from "hono";

/** An answer, with its body parsed as JSON (every answer of the service is JSON). */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
  readonly text: string;
}

export interface CallOptions {
  readonly token?: string | undefined;
  /** Sent as JSON unless it is already a string, a stream or bytes. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** One in-process request to the service, as a client would send it. */
export async function call(app: Hono, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const raw = options.body;
  const body =
    raw === undefined || typeof raw === "string" || raw instanceof ReadableStream || raw instanceof Uint8Array
      ? raw
      : JSON.stringify(raw);
  const init: RequestInit & { duplex?: "half" } = { method, headers };
  if (body !== undefined) init.body = body as BodyInit;
  if (body instanceof ReadableStream) init.duplex = "half";
  const response = await app.request(path, init);
  const text = await response.text();
  let json: Record<string, unknown> = {};
  if (text !== "") json = JSON.parse(text) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, json, text };
}

/** A readable stream of `size` bytes in 1 KiB chunks, with no declared length. */
export function streamOf(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const chunk = new Uint8Array(Math.min(1024, size - sent)).fill(0x20);
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}

export { sleep } from "../support/timing.js";

/**
 * Send `POST path` with `body` over a raw socket and destroy the socket after
 * `leaveAfterMs`, as a client that gives up (or crashes) while it waits.
 * Resolves once the socket is gone, with whatever bytes had arrived.
 */
export function departingPost(
  port: number,
  path: string,
  token: string,
  body: unknown,
  leaveAfterMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const json = JSON.stringify(body);
    let received = "";
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
      );
      setTimeout(() => socket.destroy(), leaveAfterMs);
    });
    socket.on("data", (chunk) => {
      received += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(received));
  });
}
