/**
 * TEST FIXTURE, not part of the product: a small SQL-over-HTTP endpoint
 * that speaks the protocol of `@neondatabase/serverless`'s HTTP mode
 * (`neon()`), in front of a real PostgreSQL server. Every query runs in that
 * real server; the endpoint only translates HTTP+JSON to the wire protocol
 * (through the driver's own `Pool`, over the WebSocket relay) and back.
 *
 * Protocol spoken (what the driver 1.x sends and expects, read from its code):
 * - `POST` with `Neon-Connection-String: postgresql://user[:password]@host:port/db`
 *   (the endpoint connects as that user; bad credentials are the server's
 *   own authentication error), `Neon-Raw-Text-Output: true`,
 *   `Neon-Array-Mode: true`; optional `Authorization: Bearer <jwt>` (ignored);
 * - body `{"query": text, "params": [string | null, …]}`, or a transaction
 *   `{"queries": [{query, params}, …]}` with `Neon-Batch-Isolation-Level`
 *   (`ReadCommitted`, …), `Neon-Batch-Read-Only`, `Neon-Batch-Deferrable`;
 * - success: 200 `{command, rowCount, fields: [{name, dataTypeID, …}],
 *   rows: [[text | null, …]], rowAsArray: true}`, or `{results: [those]}`;
 * - a PostgreSQL error: 400 `{message, code, severity, detail, hint, …}`
 *   (the driver copies these fields onto its `NeonDbError`); anything else
 *   the endpoint cannot do: another status with a text body.
 *
 * Node-only, like every test support file.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DatabaseError, Pool, type PoolClient } from "@neondatabase/serverless";

/** A running endpoint. */
export interface NeonHttpEndpoint {
  /** `http://127.0.0.1:<port>/sql`: set it as `neonConfig.fetchEndpoint`. */
  readonly url: string;
  /** HTTP requests answered so far, whatever their outcome. */
  readonly requests: () => number;
  /** Stop the endpoint and its connections. Idempotent. */
  stop(): Promise<void>;
}

const ISOLATION: Record<string, string> = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

// Values stay the server's text, as Neon's endpoint sends them; the driver parses them.
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

type Query = { query: string; params: unknown[] };

/**
 * Start the endpoint on a free loopback port. The driver's `neonConfig`
 * (WebSocket proxy and constructor) must already reach the server: the
 * endpoint's own connections use it.
 */
export async function startNeonHttp(): Promise<NeonHttpEndpoint> {
  const pools = new Map<string, Pool>();
  const poolFor = (connectionString: string) => {
    const url = new URL(connectionString);
    url.searchParams.delete("application_name");
    const key = url.href;
    let pool = pools.get(key);
    if (!pool) {
      pool = new Pool({ connectionString: key, max: 20 });
      pool.on("error", () => {}); // an idle connection the server closed; the next query reconnects
      pools.set(key, pool);
    }
    return pool;
  };
  let answered = 0;
  const server = createServer((req, res) => {
    handle(req, res, poolFor)
      .catch((error: unknown) => reply(res, 500, `endpoint failure: ${String(error)}`))
      .finally(() => answered++);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/sql`,
    requests: () => answered,
    stop: () => {
      stopping ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => {})));
      })();
      return stopping;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  poolFor: (connectionString: string) => Pool,
): Promise<void> {
  const body = await readBody(req);
  if (req.method !== "POST") return reply(res, 405, `method ${req.method} not allowed`);
  const connectionString = header(req, "neon-connection-string");
  if (!connectionString || !/^postgres(ql)?:\/\//.test(connectionString)) {
    return reply(res, 400, { message: "missing or invalid Neon-Connection-String header" });
  }
  if (header(req, "neon-raw-text-output") !== "true" || header(req, "neon-array-mode") !== "true") {
    return reply(res, 400, { message: "this endpoint answers only raw text in array mode, as the driver asks" });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return reply(res, 400, { message: "request body is not JSON" });
  }
  const single = asQuery(parsed);
  const batch =
    typeof parsed === "object" && parsed !== null && "queries" in parsed && Array.isArray(parsed.queries)
      ? parsed.queries.map(asQuery)
      : undefined;
  if (!single && !batch?.every((query) => query !== undefined)) {
    return reply(res, 400, { message: "body must be {query, params} or {queries: [...]}" });
  }
  let client: PoolClient;
  try {
    client = await poolFor(connectionString).connect();
  } catch (error) {
    if (error instanceof DatabaseError) return reply(res, 400, databaseError(error));
    return reply(res, 502, `could not connect to the database: ${String(error)}`);
  }
  let broken: unknown;
  try {
    if (single) return reply(res, 200, await run(client, single));
    const level = ISOLATION[header(req, "neon-batch-isolation-level") ?? "ReadCommitted"];
    if (!level) return reply(res, 400, { message: "unknown Neon-Batch-Isolation-Level" });
    const readOnly = header(req, "neon-batch-read-only") === "true" ? " READ ONLY" : "";
    const deferrable = header(req, "neon-batch-deferrable") === "true" ? " DEFERRABLE" : "";
    await client.query(`BEGIN ISOLATION LEVEL ${level}${readOnly}${deferrable}`);
    try {
      const results = [];
      for (const query of batch as Query[]) results.push(await run(client, query));
      await client.query("COMMIT");
      return reply(res, 200, { results });
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  } catch (error) {
    if (error instanceof DatabaseError) return reply(res, 400, databaseError(error));
    broken = error;
    return reply(res, 502, `database connection failed: ${String(error)}`);
  } finally {
    client.release(broken instanceof Error ? broken : undefined);
  }
}

async function run(client: PoolClient, { query, params }: Query) {
  const result = await client.query({ text: query, values: params, rowMode: "array", types: RAW_TEXT });
  return {
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    fields: result.fields.map(({ name, tableID, columnID, dataTypeID, dataTypeSize, dataTypeModifier, format }) => ({
      name,
      tableID,
      columnID,
      dataTypeID,
      dataTypeSize,
      dataTypeModifier,
      format,
    })),
    rowAsArray: true,
  };
}

function asQuery(value: unknown): Query | undefined {
  if (typeof value !== "object" || value === null || !("query" in value) || typeof value.query !== "string") {
    return undefined;
  }
  const params = "params" in value ? value.params : [];
  if (!Array.isArray(params)) return undefined;
  return { query: value.query, params };
}

const ERROR_FIELDS = [
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

function databaseError(error: DatabaseError): Record<string, unknown> {
  const fields: Record<string, unknown> = { message: error.message };
  for (const name of ERROR_FIELDS) {
    const value = (error as unknown as Record<string, unknown>)[name];
    if (value !== undefined) fields[name] = value;
  }
  return fields;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json" });
  res.end(text);
}
