import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AZURE_DEFAULT_CONTAINER } from "../../adapters/azure-blob/index.js";
import {
  EDGELOCK_ADMIN_TOKENS,
  EDGELOCK_API_TOKENS,
  EDGELOCK_AZURE_BLOB_URL,
  EDGELOCK_AZURE_CLIENT_ID,
  EDGELOCK_AZURE_CONNECTION_STRING,
  EDGELOCK_AZURE_CONTAINER,
  EDGELOCK_BASE_PATH,
  EDGELOCK_LOG_FORMAT,
  EDGELOCK_MAX_KEY_BYTES,
  EDGELOCK_MAX_WAIT_MS,
  IDENTITY_ENDPOINT,
  IDENTITY_HEADER,
} from "../../service/env.js";
import { type BicepResource, type BicepValue, isExpr, parseBicep } from "./support/bicep.js";
import { envNamesReadBy, KNOWN_ENV_NAMES, ROOT, readSource, SERVICE_DEFAULTS_KEPT } from "./support/source.js";

const AZURE_ENTRY = "service/platforms/azure-functions.ts";
const STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
const bicep = parseBicep(readSource("infra/azure/main.bicep"));
const hostJson = JSON.parse(readSource("infra/azure/function/host.json")) as {
  extensions?: { http?: { routePrefix?: string } };
};

const ofType = (type: string): Array<[string, BicepResource]> =>
  Object.entries(bicep.resources).filter(([, resource]) => resource.type === type);

function single(type: string, where: (resource: BicepResource) => boolean = () => true): [string, BicepResource] {
  const found = ofType(type).filter(([, resource]) => where(resource));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0] as [string, BicepResource];
}

const get = (value: BicepValue | undefined, ...path: string[]): BicepValue | undefined =>
  path.reduce<BicepValue | undefined>(
    (at, key) => (at && typeof at === "object" && !Array.isArray(at) && !isExpr(at) ? at[key] : undefined),
    value,
  );

const exprText = (value: BicepValue | undefined): string => (isExpr(value) ? value.expr : JSON.stringify(value));

const [functionAppId, functionApp] = single("Microsoft.Web/sites");
const appSettings = new Map(
  (get(functionApp.body, "properties", "siteConfig", "appSettings") as Array<{ name: string; value: BicepValue }>).map(
    ({ name, value }) => [name, value],
  ),
);
// The lock container is the one the service is pointed at.
const lockContainerSymbol = exprText(appSettings.get(EDGELOCK_AZURE_CONTAINER)).replace(/\.name$/, "");
const lockContainer = bicep.resources[lockContainerSymbol];
const lockStorageSymbol = exprText(get(bicep.resources[exprText(lockContainer?.body.parent)]?.body, "parent"));

describe("infra/azure/main.bicep", () => {
  it("the reader rejects what it cannot parse, so a parse that passes means something", () => {
    expect(() => parseBicep("resource x 'A/b@1' = {\n  name: 'unterminated\n}\n")).toThrow();
    expect(() => parseBicep("reource x 'A/b@1' = {}\n")).toThrow();
  });

  it("locks every storage account down: TLS 1.2, HTTPS only, no public blob access", () => {
    const accounts = ofType("Microsoft.Storage/storageAccounts");
    expect(accounts.length).toBeGreaterThan(0);
    for (const [, account] of accounts) {
      expect(get(account.body, "properties")).toMatchObject({
        minimumTlsVersion: "TLS1_2",
        allowBlobPublicAccess: false,
        supportsHttpsTrafficOnly: true,
      });
    }
  });

  it("creates the lock container with the adapter's default name, private", () => {
    expect(lockContainer?.type).toBe("Microsoft.Storage/storageAccounts/blobServices/containers");
    expect(exprText(lockContainer?.body.name)).toBe("lockContainerName");
    expect(bicep.params.lockContainerName?.default).toBe(AZURE_DEFAULT_CONTAINER);
    expect(get(lockContainer?.body, "properties", "publicAccess")).toBe("None");
    expect(bicep.resources[lockStorageSymbol]?.type).toBe("Microsoft.Storage/storageAccounts");
  });

  it("runs the service as a Node 22 Function App on Flex Consumption, HTTPS only", () => {
    expect(functionApp.body.kind).toBe("functionapp,linux");
    expect(get(functionApp.body, "properties", "httpsOnly")).toBe(true);
    expect(get(functionApp.body, "properties", "functionAppConfig", "runtime")).toEqual({
      name: "node",
      version: "22",
    });
    const [planId, plan] = single("Microsoft.Web/serverfarms");
    expect(get(plan.body, "sku")).toEqual({ tier: "FlexConsumption", name: "FC1" });
    expect(exprText(get(functionApp.body, "properties", "serverFarmId"))).toBe(`${planId}.id`);
    // Flex Consumption refuses these settings; the runtime is set in functionAppConfig.
    expect(appSettings.has("FUNCTIONS_WORKER_RUNTIME")).toBe(false);
    expect(appSettings.has("FUNCTIONS_EXTENSION_VERSION")).toBe(false);
  });

  it("points the service at the lock container of the lock account, with the tokens from a secure parameter", () => {
    expect(exprText(appSettings.get(EDGELOCK_AZURE_BLOB_URL))).toBe(
      `${lockStorageSymbol}.properties.primaryEndpoints.blob`,
    );
    const tokensParam = exprText(appSettings.get(EDGELOCK_API_TOKENS));
    expect(bicep.params[tokensParam]?.decorators).toContain("secure()");
    expect(bicep.params[tokensParam]?.default).toBeUndefined();
    const maxWait = exprText(appSettings.get(EDGELOCK_MAX_WAIT_MS));
    expect(maxWait).toBe("string(maxWaitMs)");
  });

  it("holds no storage account key: the app's managed identity reaches storage", () => {
    expect(appSettings.has(EDGELOCK_AZURE_CONNECTION_STRING)).toBe(false);
    for (const [name, value] of appSettings) {
      expect(exprText(value), name).not.toMatch(/listKeys|AccountKey|SharedAccessSignature|listAccountSas/i);
    }
    expect(readSource("infra/azure/main.bicep")).not.toMatch(/listKeys|AccountKey=/);
    expect(get(functionApp.body, "identity", "type")).toBe("SystemAssigned");
    expect(get(bicep.resources[lockStorageSymbol]?.body, "properties", "allowSharedKeyAccess")).toBe(false);
    expect(appSettings.get("AzureWebJobsStorage__accountName")).toBeDefined();
  });

  it("sets only app settings that the service or the Functions host knows", () => {
    for (const name of appSettings.keys()) {
      if (!name.startsWith("AzureWebJobsStorage__")) expect(KNOWN_ENV_NAMES).toContain(name);
    }
  });

  it("grants the app's identity Storage Blob Data Contributor on the lock container only", () => {
    const roles = ofType("Microsoft.Authorization/roleAssignments").map(([, role]) => role);
    const onLocks = roles.filter((role) => exprText(role.body.scope) === lockContainerSymbol);
    expect(onLocks).toHaveLength(1);
    const properties = get(onLocks[0]?.body, "properties");
    expect(exprText(get(properties, "roleDefinitionId"))).toContain("storageBlobDataContributor");
    expect(bicep.vars.storageBlobDataContributor).toBe(STORAGE_BLOB_DATA_CONTRIBUTOR);
    expect(exprText(get(properties, "principalId"))).toBe(`${functionAppId}.identity.principalId`);
    // Nothing is granted on the lock account as a whole.
    expect(roles.filter((role) => exprText(role.body.scope) === lockStorageSymbol)).toEqual([]);
  });

  it("outputs the service URL and the lock container", () => {
    expect(exprText(bicep.outputs.serviceUrl?.value)).toBe(`'https://\${${functionAppId}.properties.defaultHostName}'`);
    expect(exprText(bicep.outputs.lockContainerName?.value)).toBe(`${lockContainerSymbol}.name`);
  });

  it("serves the routes at the root: host.json drops the /api prefix and the entry's base path agrees", () => {
    expect(hostJson.extensions?.http?.routePrefix).toBe("");
    // The entry defaults its base path to Functions' "/api"; the template must override it to match host.json.
    expect(readSource(AZURE_ENTRY)).toContain(`[${EDGELOCK_BASE_PATH}]: "/api"`);
    expect(appSettings.get(EDGELOCK_BASE_PATH)).toBe("");
  });

  it("sets every variable the Azure Functions entry reads, and nothing it does not", () => {
    expect(existsSync(join(ROOT, AZURE_ENTRY)), `${AZURE_ENTRY} must exist`).toBe(true);
    const read = envNamesReadBy(AZURE_ENTRY);
    // Key bytes stay at the v1 default (256).
    // The backend time limit and the waiter caps keep their defaults.
    // The managed identity replaces the connection string; the platform sets
    // IDENTITY_*; the system-assigned identity needs no client id. Breaking
    // locks over HTTP stays off (no admin tokens) unless the operator adds
    // them, and logs keep their default format.
    const unsetOnPurpose = new Set([
      EDGELOCK_ADMIN_TOKENS,
      EDGELOCK_LOG_FORMAT,
      EDGELOCK_MAX_KEY_BYTES,
      ...SERVICE_DEFAULTS_KEPT,
      EDGELOCK_AZURE_CONNECTION_STRING,
      EDGELOCK_AZURE_CLIENT_ID,
      IDENTITY_ENDPOINT,
      IDENTITY_HEADER,
    ]);
    expect(read).toContain(EDGELOCK_API_TOKENS);
    expect(read).toContain(EDGELOCK_AZURE_BLOB_URL);
    expect(read).toContain(IDENTITY_ENDPOINT);
    for (const name of read) if (!unsetOnPurpose.has(name)) expect([...appSettings.keys()]).toContain(name);
    for (const name of appSettings.keys()) {
      if (!name.startsWith("AzureWebJobsStorage__")) expect(read, `${name} is set but never read`).toContain(name);
    }
  });
});
