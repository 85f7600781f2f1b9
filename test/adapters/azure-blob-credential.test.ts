import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpRequest, InvocationContext } from "@azure/functions";
// undici (a dependency of miniflare) lets the test's fetch trust the
// self-signed certificate without touching the process's CA store.
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AZURE_STORAGE_SCOPE,
  azureBlobAdapter,
  managedIdentityCredential,
  type TokenCredential,
} from "../../adapters/azure-blob/index.js";
import { azureBlobFromEnv } from "../../service/platforms/azure-blob-env.js";
import { createAzureHandler } from "../../service/platforms/azure-functions.js";
import { BackendRejectedError, InvalidArgumentError, newToken } from "../../src/index.js";
import { type Azurite, startAzurite } from "../support/azurite.js";

// Bearer authorisation for real: Azurite over HTTPS with `--oauth basic`,
// which checks a JWT's lifetime, issuer and audience (not its signature).

const CONTAINER = "edgelock-oauth";
let azurite: Azurite;
let dir: string;
let agent: Agent;
let httpsFetch: typeof fetch;
let storageCalls = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edgelock-azurite-tls-"));
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyPath,
      "-out",
      certPath,
    ],
    { stdio: "ignore" },
  );
  agent = new Agent({ connect: { ca: readFileSync(certPath, "utf8") } });
  httpsFetch = ((input: string | URL | Request, init?: RequestInit) => {
    storageCalls++;
    return undiciFetch(input as string, { ...(init as object), dispatcher: agent });
  }) as unknown as typeof fetch;
  azurite = await startAzurite({ oauth: { certPath, keyPath } });
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
  await agent?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A JWT of the shape Entra ID issues for storage, with a fake signature. */
function fakeJwt(claims: { aud?: string; expSeconds?: number } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const payload = {
    aud: claims.aud ?? "https://storage.azure.com",
    iss: "https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/",
    iat: now - 60,
    nbf: now - 60,
    exp: now + (claims.expSeconds ?? 3600),
    oid: "11059fcc-5514-4800-b5f8-49808b9cfab6",
    tid: "ab1f708d-50f6-404c-a006-d71b2ac7a606",
  };
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64(payload)}.${Buffer.from("not-a-signature").toString("base64url")}`;
}

/** A TokenCredential handing out `jwt()`, counting and recording its calls. */
function countingCredential(jwt: () => string, lifetimeMs = 3_600_000, delayMs = 0) {
  const calls: { scopes: string | string[]; signal: boolean }[] = [];
  const credential: TokenCredential = {
    async getToken(scopes, options) {
      calls.push({ scopes, signal: options?.abortSignal instanceof AbortSignal });
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return { token: jwt(), expiresOnTimestamp: Date.now() + lifetimeMs };
    },
  };
  return { credential, calls };
}

const adapterWith = (credential: TokenCredential, createContainer = true) =>
  azureBlobAdapter({ endpoint: azurite.url, credential, container: CONTAINER, createContainer, fetch: httpsFetch });

describe("azure-blob with a TokenCredential, against Azurite over HTTPS", () => {
  test("takes, refuses, extends and releases a lock; one token serves every request", async () => {
    const a = countingCredential(() => fakeJwt());
    const b = countingCredential(() => fakeJwt());
    const first = adapterWith(a.credential);
    const second = adapterWith(b.credential);
    const key = `oauth-${newToken().slice(0, 8)}`;
    const token = newToken();

    const grant = await first.acquire({ key, token, ttlMs: 15_000 });
    expect(grant.ok).toBe(true);
    expect((await second.acquire({ key, token: newToken(), ttlMs: 15_000 })).ok).toBe(false);
    expect((await first.extend({ key, token, ttlMs: 30_000 })).ok).toBe(true);
    expect(await first.inspect(key)).toMatchObject({ held: true });
    expect((await first.release({ key, token })).ok).toBe(true);
    expect(await second.inspect(key)).toEqual({ held: false });
    expect((await second.acquire({ key, token: newToken(), ttlMs: 15_000 })).ok).toBe(true);

    expect(a.calls).toEqual([{ scopes: AZURE_STORAGE_SCOPE, signal: true }]);
    expect(b.calls).toHaveLength(1);
  });

  test("concurrent first requests share one getToken call", async () => {
    const slow = countingCredential(() => fakeJwt(), 3_600_000, 200);
    const adapter = adapterWith(slow.credential);
    const keys = Array.from({ length: 5 }, (_, i) => `shared-${i}-${newToken().slice(0, 8)}`);
    const results = await Promise.all(keys.map((key) => adapter.inspect(key)));
    expect(results).toEqual(keys.map(() => ({ held: false })));
    expect(slow.calls).toHaveLength(1);
  });

  test("a token inside the refresh margin is refreshed on the next request", async () => {
    // Four minutes left: inside the five-minute margin, so never cached.
    const short = countingCredential(() => fakeJwt(), 4 * 60_000);
    const adapter = adapterWith(short.credential);
    await adapter.inspect("margin-a");
    await adapter.inspect("margin-b");
    expect(short.calls).toHaveLength(2);
  });

  test("an expired or wrong-audience token is refused with BackendRejectedError 401/403", async () => {
    for (const jwt of [fakeJwt({ expSeconds: -600 }), fakeJwt({ aud: "https://vault.azure.net" })]) {
      const adapter = adapterWith(countingCredential(() => jwt).credential, false);
      const error = await adapter.acquire({ key: "refused", token: newToken(), ttlMs: 15_000 }).catch((e) => e);
      expect(error).toBeInstanceOf(BackendRejectedError);
      expect([401, 403]).toContain((error as BackendRejectedError).status);
      expect(String((error as Error).message)).not.toContain(jwt);
    }
  });

  test("a failing getToken is a BackendRejectedError that does not carry the secret, and is retried next time", async () => {
    const secret = "s3cr3t-client-secret-value-0123456789abcdefABCDEF";
    let fail = true;
    const credential: TokenCredential = {
      async getToken() {
        if (fail) throw new Error(`AADSTS7000215: Invalid client secret provided: ${secret}`);
        return { token: fakeJwt(), expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const adapter = adapterWith(credential);
    const before = storageCalls;
    const error = await adapter.inspect("no-token").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect((error as Error).message).toMatch(/AADSTS7000215/);
    expect(JSON.stringify({ message: (error as Error).message, cause: (error as Error).cause })).not.toContain(secret);
    expect(storageCalls).toBe(before);

    const empty = adapterWith({ getToken: async () => null });
    await expect(empty.inspect("null-token")).rejects.toBeInstanceOf(BackendRejectedError);

    fail = false;
    expect(await adapter.inspect("no-token")).toEqual({ held: false });
  });

  test("credential options are validated before any request", () => {
    const before = storageCalls;
    const good = countingCredential(() => fakeJwt()).credential;
    const build = (options: object) => () => azureBlobAdapter({ container: CONTAINER, fetch: httpsFetch, ...options });
    expect(build({ endpoint: azurite.url, credential: {} })).toThrow(InvalidArgumentError);
    expect(build({ endpoint: azurite.url, credential: { getToken: "x" } })).toThrow(InvalidArgumentError);
    expect(build({ endpoint: azurite.url.replace("https:", "http:"), credential: good })).toThrow(InvalidArgumentError);
    expect(build({ endpoint: azurite.url, credential: good, bearerToken: "t" })).toThrow(InvalidArgumentError);
    expect(storageCalls).toBe(before);
  });
});

describe("managedIdentityCredential, against a local imitation of the Functions identity endpoint", () => {
  const IDENTITY_HEADER = "identity-header-secret";
  let server: Server;
  let endpoint: string;
  const seen: { url: string; header: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const header = req.headers["x-identity-header"];
      seen.push({ url: url.pathname + url.search, header: typeof header === "string" ? header : undefined });
      if (header !== IDENTITY_HEADER) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "invalid_request", error_description: "bad X-IDENTITY-HEADER" }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          access_token: fakeJwt(),
          expires_on: String(Math.floor(Date.now() / 1000) + 3600),
          resource: url.searchParams.get("resource"),
          token_type: "Bearer",
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("gets a storage token the Blob service accepts, once for many requests", async () => {
    const adapter = adapterWith(managedIdentityCredential({ endpoint, header: IDENTITY_HEADER }));
    const key = `mi-${newToken().slice(0, 8)}`;
    const token = newToken();
    seen.length = 0;
    expect((await adapter.acquire({ key, token, ttlMs: 15_000 })).ok).toBe(true);
    expect((await adapter.release({ key, token })).ok).toBe(true);
    expect(seen).toEqual([
      {
        url: "/msi/token?resource=https%3A%2F%2Fstorage.azure.com%2F&api-version=2019-08-01",
        header: IDENTITY_HEADER,
      },
    ]);
  });

  test("a refused identity request is a BackendRejectedError without the identity header", async () => {
    const adapter = adapterWith(managedIdentityCredential({ endpoint, header: "wrong-header-value" }));
    const error = await adapter.inspect("mi-refused").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect((error as Error).message).toMatch(/401/);
    expect((error as Error).message).not.toContain("wrong-header-value");
  });

  test("the Azure Functions entry runs on EDGELOCK_AZURE_BLOB_URL and the platform's managed identity", async () => {
    // The deployment creates the container (Bicep); here an adapter does it once.
    await adapterWith(countingCredential(() => fakeJwt()).credential).inspect("setup");
    const env = {
      EDGELOCK_API_TOKENS: "fn-token",
      EDGELOCK_AZURE_BLOB_URL: azurite.url,
      EDGELOCK_AZURE_CONTAINER: CONTAINER,
      IDENTITY_ENDPOINT: endpoint,
      IDENTITY_HEADER,
    };
    const handler = createAzureHandler(env, { fetch: httpsFetch });
    const call = async (path: string, body: object) => {
      const response = await handler(
        new HttpRequest({
          method: "POST",
          url: `https://edgelock.azurewebsites.net/api${path}`,
          headers: { authorization: "Bearer fn-token", "content-type": "application/json" },
          body: { string: JSON.stringify(body) },
        }),
        new InvocationContext(),
      );
      return {
        status: response.status ?? 200,
        json: JSON.parse(new TextDecoder().decode(response.body as Uint8Array)) as Record<string, unknown>,
      };
    };
    seen.length = 0;
    const key = `fn-${newToken().slice(0, 8)}`;
    const taken = await call(`/v1/locks/${key}/acquire`, { ttlMs: 15_000 });
    expect(taken.status).toBe(200);
    expect(taken.json).toMatchObject({ key, ttlMs: 15_000 });
    const again = await call(`/v1/locks/${key}/acquire`, { ttlMs: 15_000 });
    expect(again).toMatchObject({ status: 409, json: { error: "locked" } });
    expect(seen.length).toBe(1);
    expect(seen[0]?.header).toBe(IDENTITY_HEADER);

    // A credential passed in code replaces the identity endpoint.
    const passed = countingCredential(() => fakeJwt());
    const withCredential = azureBlobFromEnv(
      { EDGELOCK_AZURE_BLOB_URL: azurite.url, EDGELOCK_AZURE_CONTAINER: CONTAINER },
      { credential: passed.credential, fetch: httpsFetch },
    );
    expect((await withCredential.acquire({ key: `${key}-direct`, token: newToken(), ttlMs: 15_000 })).ok).toBe(true);
    expect(passed.calls).toHaveLength(1);
  });

  test("the entry's environment is validated", () => {
    expect(() => azureBlobFromEnv({ EDGELOCK_AZURE_BLOB_URL: azurite.url })).toThrow(/IDENTITY_ENDPOINT/);
    expect(() => azureBlobFromEnv({})).toThrow(InvalidArgumentError);
    expect(() =>
      azureBlobFromEnv({
        EDGELOCK_AZURE_BLOB_URL: azurite.url,
        EDGELOCK_AZURE_CONNECTION_STRING: "UseDevelopmentStorage=true",
      }),
    ).toThrow(InvalidArgumentError);
  });

  test("options are validated", () => {
    expect(() => managedIdentityCredential({ endpoint: "", header: IDENTITY_HEADER })).toThrow(InvalidArgumentError);
    expect(() => managedIdentityCredential({ endpoint: "not a url", header: IDENTITY_HEADER })).toThrow(
      InvalidArgumentError,
    );
    expect(() => managedIdentityCredential({ endpoint, header: "" })).toThrow(InvalidArgumentError);
    expect(() => managedIdentityCredential({ endpoint, header: IDENTITY_HEADER, clientId: "" })).toThrow(
      InvalidArgumentError,
    );
  });
});
