import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { beforeAll, describe, expect, test } from "vitest";
import { AZURE_DEFAULT_CONTAINER, azureBlobAdapter, parseConnectionString } from "../../adapters/azure-blob/index.js";
import { BackendRejectedError, InvalidArgumentError, newToken } from "../../src/index.js";
import { CONTAINER, useAzurite } from "./azure-blob-fixture.js";

// How the adapter reaches a storage account: credentials, connection strings,
// and the container it needs. The lock protocol itself is in azure-blob.test.ts.

const { azurite, adapter, sdk } = useAzurite();

beforeAll(async () => {
  // The SAS test's adapter does not create its container, and no earlier test in this file does.
  await sdk().getContainerClient(CONTAINER).createIfNotExists();
});

describe("azure-blob specifics", () => {
  test("a wrong account key is refused with BackendRejectedError (403), for every operation", async () => {
    const wrongKey = Buffer.alloc(64, 7).toString("base64");
    const bad = azureBlobAdapter({
      endpoint: azurite().url,
      accountName: azurite().accountName,
      accountKey: wrongKey,
      container: CONTAINER,
    });
    const token = newToken();
    const calls = [
      () => bad.acquire({ key: "k", token, ttlMs: 15_000 }),
      () => bad.extend({ key: "k", token, ttlMs: 15_000 }),
      () => bad.release({ key: "k", token }),
      () => bad.inspect("k"),
    ];
    for (const call of calls) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendRejectedError);
      expect((error as BackendRejectedError).status).toBe(403);
      expect((error as Error).cause).toBeDefined();
    }
  });

  test("a missing container is refused with a clear BackendRejectedError unless createContainer is set", async () => {
    const container = `missing-${Date.now()}`;
    const strict = adapter({ container, createContainer: false });
    const error = await strict.acquire({ key: "k", token: newToken(), ttlMs: 15_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendRejectedError);
    expect((error as Error).message).toMatch(/container does not exist/);
    await expect(strict.inspect("k")).rejects.toBeInstanceOf(BackendRejectedError);
    expect(await sdk().getContainerClient(container).exists()).toBe(false);

    const lazy = adapter({ container, createContainer: true });
    expect(await lazy.inspect("k")).toEqual({ held: false });
    expect((await lazy.acquire({ key: "k", token: newToken(), ttlMs: 15_000 })).ok).toBe(true);
    expect(await sdk().getContainerClient(container).exists()).toBe(true);
    expect(AZURE_DEFAULT_CONTAINER).toMatch(/^[a-z0-9-]{3,63}$/);
  });

  test("SAS authorisation works; a read-only SAS is refused with BackendRejectedError", async () => {
    const credential = new StorageSharedKeyCredential(azurite().accountName, azurite().accountKey);
    const sas = (permissions: string) =>
      generateAccountSASQueryParameters(
        {
          expiresOn: new Date(Date.now() + 3_600_000),
          permissions: AccountSASPermissions.parse(permissions),
          resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
          services: AccountSASServices.parse("b").toString(),
          protocol: SASProtocol.HttpsAndHttp,
        },
        credential,
      ).toString();
    const key = `sas:${newToken()}`;
    const token = newToken();
    const writer = azureBlobAdapter({ endpoint: azurite().url, sasToken: `?${sas("rwc")}`, container: CONTAINER });
    expect((await writer.acquire({ key, token, ttlMs: 15_000 })).ok).toBe(true);
    const viaConnectionString = azureBlobAdapter({
      connectionString: `BlobEndpoint=${azurite().url};SharedAccessSignature=${sas("r")}`,
      container: CONTAINER,
    });
    expect(await viaConnectionString.inspect(key)).toMatchObject({ held: true });
    await expect(viaConnectionString.release({ key, token })).rejects.toBeInstanceOf(BackendRejectedError);
    expect(await writer.release({ key, token })).toEqual({ ok: true });
  });

  test("connection strings parse as Azure users write them", () => {
    expect(
      parseConnectionString(
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
      ),
    ).toEqual({
      blobEndpoint: "https://acct.blob.core.chinacloudapi.cn",
      accountName: "acct",
      accountKey: "a2V5",
      sasToken: undefined,
    });
    expect(parseConnectionString("AccountName=acct;AccountKey=a2V5==;")).toMatchObject({
      blobEndpoint: "https://acct.blob.core.windows.net",
      accountKey: "a2V5==",
    });
    expect(parseConnectionString(" BlobEndpoint=https://x.example/;SharedAccessSignature=?sv=1&sig=a%3D ")).toEqual({
      blobEndpoint: "https://x.example",
      accountName: undefined,
      accountKey: undefined,
      sasToken: "sv=1&sig=a%3D",
    });
    expect(parseConnectionString("UseDevelopmentStorage=true")).toMatchObject({
      blobEndpoint: "http://127.0.0.1:10000/devstoreaccount1",
      accountName: "devstoreaccount1",
    });
    for (const bad of [
      "",
      "AccountName=acct",
      "nonsense",
      "DefaultEndpointsProtocol=ftp;AccountName=a;AccountKey=a2V5",
    ]) {
      expect(() => parseConnectionString(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => azureBlobAdapter({ endpoint: "https://acct.blob.core.windows.net" })).toThrow(InvalidArgumentError);
    expect(() => adapter({ container: "Bad_Name" })).toThrow(InvalidArgumentError);
    expect(() => adapter({ prefix: "../x" })).toThrow(InvalidArgumentError);
  });
});
