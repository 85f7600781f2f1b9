// `npm start`'s front: a plain HTTP proxy on the public port, in front of
// `wrangler dev` on a private loopback port, that tells the Worker when a
// client leaves before its answer. Local workerd cannot see that itself (see
// service/platforms/dev-front.ts), so without it a departed waiter was granted
// the lock and held it for its TTL.
import { randomBytes } from "node:crypto";
import { Agent, createServer, request } from "node:http";

// Kept in step with service/platforms/dev-front.ts.
const FRONT_SECRET_HEADER = "edgelock-front-secret";
const FRONT_REQUEST_HEADER = "edgelock-front-request";
const DEPARTED_PATH = "/__edgelock/front/departed";

// Hop-by-hop headers (RFC 9110 §7.6.1) and the front's own: never forwarded as received.
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  FRONT_SECRET_HEADER,
  FRONT_REQUEST_HEADER,
]);
const REPORT_TIMEOUT_MS = 15_000;

/** Generous, so the front refuses no request head that workerd would take. */
const MAX_HEADER_BYTES = 128 * 1024;

/**
 * Serve on `host:port`, forwarding to the Worker on 127.0.0.1:`upstreamPort`.
 * `onDeparted(status)` is called with the Worker's answer to each departure
 * report (204: the request has ended, its wait withdrawn).
 *
 * @param {{ host: string, port: number, upstreamPort: number, secret: string,
 *   onDeparted?: (status: number) => void }} options
 * @returns {Promise<{ port: number, close(): Promise<void> }>}
 */
export function startDevFront({ host, port, upstreamPort, secret, onDeparted }) {
  // No Nagle delay on the hop to wrangler: small answers go out at once.
  const agent = new Agent({ keepAlive: true, noDelay: true });
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, noDelay: true }, (incoming, outgoing) => {
    // Only the front reports departures: a client's own report would be taken as the front's.
    if (new URL(incoming.url ?? "/", "http://front").pathname === DEPARTED_PATH) return notFound(outgoing);
    const id = randomBytes(16).toString("base64url");
    const headers = [];
    for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
      const name = incoming.rawHeaders[i] ?? "";
      if (!HOP.has(name.toLowerCase())) headers.push(name, incoming.rawHeaders[i + 1] ?? "");
    }
    headers.push(FRONT_SECRET_HEADER, secret, FRONT_REQUEST_HEADER, id);
    const forwarded = request(
      { host: "127.0.0.1", port: upstreamPort, method: incoming.method, path: incoming.url, headers, agent },
      (answer) => {
        const back = [];
        for (let i = 0; i < answer.rawHeaders.length; i += 2) {
          const name = answer.rawHeaders[i] ?? "";
          if (!HOP.has(name.toLowerCase())) back.push(name, answer.rawHeaders[i + 1] ?? "");
        }
        // Transparent: no Date header of the front's own.
        outgoing.sendDate = false;
        outgoing.writeHead(answer.statusCode ?? 502, answer.statusMessage, back);
        answer.pipe(outgoing);
        answer.on("error", () => outgoing.destroy());
      },
    );
    forwarded.on("error", () => {
      if (outgoing.headersSent) return outgoing.destroy();
      unavailable(outgoing);
    });
    outgoing.on("close", () => {
      if (outgoing.writableFinished) return;
      // The client left before its answer: tell the Worker first, then drop the forwarded request.
      report(id, upstreamPort, secret, agent).then(
        (status) => onDeparted?.(status),
        () => onDeparted?.(0),
      );
      forwarded.destroy();
    });
    incoming.pipe(forwarded);
  });
  // Requests Node's parser refuses: a JSON answer, as the service gives.
  server.on("clientError", (error, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
    const body = JSON.stringify(
      tooLarge
        ? { error: "headers_too_large", message: "the request line and headers are too large" }
        : { error: "invalid_request", message: "the request is not valid HTTP/1.1" },
    );
    socket.end(
      `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\n` +
        "Content-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
  // Waits end by the service's own limits; the front adds none.
  server.requestTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        port: typeof address === "object" && address ? address.port : port,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
            agent.destroy();
          }),
      });
    });
  });
}

function unavailable(outgoing) {
  json(
    outgoing,
    503,
    { error: "unavailable", message: "the local Worker is not answering (yet)" },
    { "Retry-After": "1" },
  );
}

function notFound(outgoing) {
  json(outgoing, 404, { error: "not_found", message: "no such route; see /v1/openapi.json" });
}

function json(outgoing, status, answer, headers = {}) {
  const body = JSON.stringify(answer);
  outgoing.writeHead(status, {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  });
  outgoing.end(body);
}

function report(id, upstreamPort, secret, agent) {
  return new Promise((resolve, reject) => {
    const notice = request(
      {
        host: "127.0.0.1",
        port: upstreamPort,
        method: "POST",
        path: DEPARTED_PATH,
        headers: { [FRONT_SECRET_HEADER]: secret, [FRONT_REQUEST_HEADER]: id, "content-length": "0" },
        agent,
        timeout: REPORT_TIMEOUT_MS,
      },
      (answer) => {
        answer.resume();
        answer.on("end", () => resolve(answer.statusCode ?? 0));
      },
    );
    notice.on("timeout", () => notice.destroy(new Error("departure report timed out")));
    notice.on("error", reject);
    notice.end();
  });
}
