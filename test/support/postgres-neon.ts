/**
 * TEST FIXTURE, not part of the product: a real PostgreSQL server reachable
 * the two ways `@neondatabase/serverless` reaches Neon: WebSocket mode
 * (`Pool`, `Client`) through a ws→TCP relay, and HTTP mode (`neon()`)
 * through a local SQL-over-HTTP endpoint. It sets the driver's global
 * `neonConfig` to point at them, as an application would point it at Neon.
 *
 * Node-only, like every test support file.
 *
 * @module
 */
import { type NeonQueryFunction, neon, neonConfig, Pool } from "@neondatabase/serverless";
import { WebSocket } from "ws";
import { type NeonHttpEndpoint, startNeonHttp } from "./neon-http.js";
import { type PostgresServer, startPostgres } from "./postgres.js";
import { startWsRelay, type WsRelay } from "./ws-relay.js";

/** PostgreSQL with Neon's two routes in front of it. */
export interface NeonLocal {
  readonly server: PostgresServer;
  readonly relay: WsRelay;
  readonly http: NeonHttpEndpoint;
  /** `postgresql://postgres@127.0.0.1:<port>/postgres`. */
  readonly connectionString: string;
  /**
   * A `neon()` query function (HTTP mode) whose requests go through `fetch`
   * (default: the global one). `user` connects as another role.
   */
  sql(options?: {
    fetch?: typeof fetch;
    user?: string;
    neon?: { arrayMode?: boolean; fullResults?: boolean };
  }): NeonQueryFunction<false, false>;
  /** A WebSocket-mode `Pool` over the relay; ended by {@link stop}. */
  pool(options?: { user?: string; max?: number }): Pool;
  /** Stop everything. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start PostgreSQL, the relay and the HTTP endpoint, and point `neonConfig`
 * at them.
 *
 * @example
 * ```ts
 * const pg = await startNeonLocal();
 * const rows = await pg.sql().query("SELECT 1 AS one");
 * afterAll(() => pg.stop());
 * ```
 */
export async function startNeonLocal(): Promise<NeonLocal> {
  const server = await startPostgres();
  let relay: WsRelay | undefined;
  let http: NeonHttpEndpoint | undefined;
  const pools: Pool[] = [];
  const stop = async () => {
    await http?.stop();
    await Promise.all(pools.map((pool) => pool.end().catch(() => {})));
    await relay?.stop();
    await server.stop();
  };
  try {
    relay = await startWsRelay({ allow: [`127.0.0.1:${server.port}`] });
    const relayHost = relay.host;
    neonConfig.webSocketConstructor = WebSocket;
    neonConfig.wsProxy = (host, port) => `${relayHost}/v2?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineConnect = false;
    neonConfig.pipelineTLS = false;
    http = await startNeonHttp();
    neonConfig.fetchEndpoint = http.url;
    // neon() takes no fetch of its own, only the global neonConfig.fetchFunction:
    // route each request by its connection string to the fetch its sql() was made with.
    const routes = new Map<string, typeof fetch>();
    neonConfig.fetchFunction = (input: RequestInfo | URL, init?: RequestInit) => {
      const target = new Headers(init?.headers).get("neon-connection-string") ?? "";
      const application = new URL(target).searchParams.get("application_name") ?? "";
      return (routes.get(application) ?? globalThis.fetch)(input, init);
    };
    let made = 0;
    const url = (user = "postgres") => `postgresql://${user}@127.0.0.1:${server.port}/postgres`;
    let stopping: Promise<void> | undefined;
    return {
      server,
      relay,
      http,
      connectionString: server.connectionString,
      sql: (options = {}) => {
        const application = `edgelock-http-${++made}`;
        if (options.fetch) routes.set(application, options.fetch);
        // Typed for the default modes; with other `neon` options only callers that ask per call (the adapter) use it.
        return neon(`${url(options.user)}?application_name=${application}`, options.neon) as NeonQueryFunction<
          false,
          false
        >;
      },
      pool: (options = {}) => {
        const pool = new Pool({ connectionString: url(options.user), max: options.max ?? 10 });
        pool.on("error", () => {});
        pools.push(pool);
        return pool;
      },
      stop: () => {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
