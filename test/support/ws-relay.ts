/**
 * TEST FIXTURE, not part of the product: a WebSocket → TCP relay, what
 * Neon's proxy does for `@neondatabase/serverless` in WebSocket mode. Each
 * WebSocket connection to `/v2?address=host:port` is piped byte for byte to
 * a TCP connection to that address, so the driver speaks the real
 * PostgreSQL wire protocol to the real server.
 *
 * Only the addresses given in `allow` are relayed: the fixture is not an
 * open proxy, even on loopback.
 *
 * Node-only, like every test support file.
 *
 * @module
 */
import { connect } from "node:net";
import { WebSocketServer } from "ws";

/** A running relay. */
export interface WsRelay {
  /** `127.0.0.1:<port>`: the `host:port` part of the relay's WebSocket URL. */
  readonly host: string;
  /** WebSocket connections accepted so far. */
  readonly connections: () => number;
  /** Close every connection and the server. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start a relay on a free loopback port, forwarding to the `host:port`
 * addresses in `allow`.
 *
 * @example
 * ```ts
 * const relay = await startWsRelay({ allow: [`127.0.0.1:${pg.port}`] });
 * neonConfig.wsProxy = (host, port) => `${relay.host}/v2?address=${host}:${port}`;
 * ```
 */
export async function startWsRelay(options: { allow: readonly string[] }): Promise<WsRelay> {
  const allowed = new Set(options.allow);
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  let accepted = 0;
  server.on("connection", (socket, request) => {
    const address = new URL(request.url ?? "/", "http://relay").searchParams.get("address") ?? "";
    const [, host, port] = /^(.+):(\d+)$/.exec(address) ?? [];
    if (!allowed.has(address) || !host || !port) {
      socket.close(1008, "address not allowed");
      return;
    }
    accepted++;
    const tcp = connect(Number(port), host);
    tcp.setNoDelay(true);
    // Bytes the driver sends before the TCP connection is up are buffered by the socket.
    socket.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      tcp.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
    });
    tcp.on("data", (chunk) => socket.send(chunk, { binary: true }));
    socket.on("close", () => tcp.destroy());
    socket.on("error", () => tcp.destroy());
    tcp.on("close", () => socket.close());
    tcp.on("error", () => socket.terminate());
  });
  const { port } = server.address() as { port: number };
  let stopping: Promise<void> | undefined;
  return {
    host: `127.0.0.1:${port}`,
    connections: () => accepted,
    stop: () => {
      stopping ??= new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      });
      return stopping;
    },
  };
}
