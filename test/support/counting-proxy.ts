/**
 * TEST FIXTURE: a loopback HTTP proxy in front of a backend emulator that
 * counts the requests passing through, e.g. the backend requests the lock
 * service sends to DynamoDB Local. Requests are forwarded unchanged (Host
 * header included, so signatures still match), answers streamed back.
 *
 * Node-only, like every test support file.
 *
 * @module
 */
import { createServer, request as forward } from "node:http";
import type { AddressInfo } from "node:net";

/** A running counting proxy. */
export interface CountingProxy {
  /** Base URL to point the client at instead of the backend, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Requests forwarded so far. */
  requests(): number;
  stop(): Promise<void>;
}

/**
 * Start a proxy to `target` (an `http://` base URL) on a free loopback port.
 *
 * @example
 * ```ts
 * const proxy = await startCountingProxy(ddb.endpoint);
 * const adapter = dynamodbAdapter({ endpoint: proxy.url, … });
 * ```
 */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  let requests = 0;
  const server = createServer((incoming, outgoing) => {
    requests++;
    const proxied = forward(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    proxied.on("error", () => outgoing.destroy());
    incoming.pipe(proxied);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
