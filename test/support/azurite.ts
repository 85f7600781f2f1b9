import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { freePort, waitForPort } from "./ports.js";
import { stopChild } from "./processes.js";

/** The well-known Azurite development account. */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** A running Azurite blob service. */
export interface Azurite {
  /** Blob endpoint, path-style: `http(s)://127.0.0.1:<port>/devstoreaccount1`. */
  readonly url: string;
  readonly port: number;
  readonly accountName: string;
  readonly accountKey: string;
  /** A connection string naming that endpoint and the dev account key. */
  readonly connectionString: string;
  /** Stop the process and wait for it to exit. */
  stop(): Promise<void>;
}

/**
 * Start Azurite's blob service on a free loopback port, in memory, and wait
 * until it accepts connections. Call `stop()` in `afterAll`.
 *
 * @example
 * ```ts
 * let azurite: Azurite;
 * beforeAll(async () => { azurite = await startAzurite(); });
 * afterAll(() => azurite.stop());
 * ```
 */
/** Options of {@link startAzurite}. */
export interface AzuriteOptions {
  /**
   * Serve HTTPS with this certificate and key (PEM file paths) and accept
   * OAuth bearer tokens (`--oauth basic`: shape, lifetime, issuer and
   * audience are checked, the signature is not).
   */
  readonly oauth?: { readonly certPath: string; readonly keyPath: string };
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const port = await freePort();
  const main = createRequire(import.meta.url).resolve("azurite/dist/src/blob/main.js");
  const child = spawn(
    process.execPath,
    [
      main,
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
      "--inMemoryPersistence",
      "--skipApiVersionCheck",
      "--loose",
      "--disableTelemetry",
      "--silent",
      ...(options.oauth ? ["--oauth", "basic", "--cert", options.oauth.certPath, "--key", options.oauth.keyPath] : []),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await Promise.race([
      waitForPort(port),
      exited.then(() => {
        throw new Error(`azurite exited before listening on ${port}: ${stderr}`);
      }),
    ]);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  const url = `${options.oauth ? "https" : "http"}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    url,
    port,
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    connectionString: `DefaultEndpointsProtocol=${options.oauth ? "https" : "http"};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${url};`,
    stop: () => stopChild(child),
  };
}
