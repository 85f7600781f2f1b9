import { BlobServiceClient } from "@azure/storage-blob";
import { azureBlobAdapter } from "../../adapters/azure-blob/index.js";
import { httpAdapter } from "../../adapters/http/index.js";
import { type NodeService, startFromEnv } from "../../service/platforms/node.js";
import type { ConformanceTarget } from "../conformance/index.js";
import { type Azurite, startAzurite } from "../support/azurite.js";

const TOKEN = "conformance-token-azure-blob";
const CONTAINER = "http-conformance";

// Azure Blob leases behind the service (a service and an Azurite per test file), configured only by environment
// variables as the Azure Functions entry is: httpAdapter → loopback HTTP →
// the Node entry → the Azure Blob adapter → Azurite. The lease-length bounds
// (15 to 60 s, whole seconds) travel to the suite through httpAdapter's `ttl`.
export function azureBlobServiceTarget(): ConformanceTarget {
  let azurite: Azurite | undefined;
  let service: NodeService | undefined;
  return {
    name: "http over azure-blob (Node entry)",
    async setup() {
      azurite = await startAzurite();
      await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(CONTAINER).create();
      service = await startFromEnv({
        EDGELOCK_BACKEND: "azure-blob",
        EDGELOCK_AZURE_CONNECTION_STRING: azurite.connectionString,
        EDGELOCK_AZURE_CONTAINER: CONTAINER,
        EDGELOCK_API_TOKENS: TOKEN,
        // The suite's lock client sends its namespace and a 256-byte key as one key.
        EDGELOCK_MAX_KEY_BYTES: "384",
        PORT: "0",
      });
    },
    // One client per instance, all in front of the one service, as separate callers of a deployment are.
    create({ fetch }) {
      if (!azurite || !service) throw new Error("the service is not started");
      const { ttl } = azureBlobAdapter({ connectionString: azurite.connectionString }).capabilities;
      return httpAdapter({ url: service.url, token: TOKEN, fetch, ttl });
    },
    async cleanup() {
      await service?.close();
      await azurite?.stop();
    },
  };
}
