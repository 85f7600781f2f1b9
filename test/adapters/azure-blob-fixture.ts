import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { afterAll, beforeAll } from "vitest";
import { type AzureBlobAdapterOptions, azureBlobAdapter } from "../../adapters/azure-blob/index.js";
import type { LockAdapter } from "../../src/index.js";
import type { ConformanceTarget } from "../conformance/index.js";
import { type Azurite, startAzurite } from "../support/azurite.js";

/** The container the Azure Blob test files lock in. */
export const CONTAINER = "edgelock-test";

/** What an Azure Blob test file gets from {@link useAzurite}. */
export interface AzuriteFixture {
  /** The running Azurite; valid once the file's tests run. */
  azurite(): Azurite;
  /** The adapter on {@link CONTAINER} (created on first use), options overriding. */
  adapter(options?: Partial<AzureBlobAdapterOptions>): LockAdapter;
  /** `@azure/storage-blob`, as an independent client looking at what the adapter did. */
  sdk(): BlobServiceClient;
}

/** Start Azurite for this test file, and stop it after. */
export function useAzurite(): AzuriteFixture {
  let running: Azurite | undefined;
  const azurite = () => {
    if (!running) throw new Error("Azurite is not started yet");
    return running;
  };
  beforeAll(async () => {
    running = await startAzurite();
  }, 60_000);
  afterAll(() => running?.stop());
  return {
    azurite,
    adapter: (options = {}) =>
      azureBlobAdapter({
        connectionString: azurite().connectionString,
        container: CONTAINER,
        createContainer: true,
        ...options,
      }),
    sdk: () =>
      new BlobServiceClient(azurite().url, new StorageSharedKeyCredential(azurite().accountName, azurite().accountKey)),
  };
}

/** The conformance target on a file's Azurite: each half of the suite runs in its own file (`test/conformance/index.ts`). */
export function azureBlobTarget(fixture: AzuriteFixture): ConformanceTarget {
  return {
    name: "azure-blob",
    create: ({ fetch }) =>
      azureBlobAdapter({ connectionString: fixture.azurite().connectionString, createContainer: true, fetch }),
  };
}
