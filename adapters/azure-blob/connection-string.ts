import { InvalidArgumentError } from "../../src/errors.js";

/** The well-known development account of Azurite and the old storage emulator. */
export const DEVELOPMENT_ACCOUNT = {
  accountName: "devstoreaccount1",
  accountKey: "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
  blobEndpoint: "http://127.0.0.1:10000/devstoreaccount1",
} as const;

/** What a storage connection string says about the blob service. */
export interface ParsedConnectionString {
  /** Blob service endpoint without a trailing slash. */
  readonly blobEndpoint: string;
  readonly accountName: string | undefined;
  readonly accountKey: string | undefined;
  /** SAS query string without the leading `?`. */
  readonly sasToken: string | undefined;
}

/**
 * Parse an Azure Storage connection string the way the Azure SDKs accept it:
 * `key=value` pairs separated by `;`, keys case-insensitive, values kept as
 * written (account keys end in `=`, so only the first `=` splits).
 *
 * @example
 * ```ts
 * parseConnectionString("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=...;EndpointSuffix=core.windows.net");
 * // { blobEndpoint: "https://acct.blob.core.windows.net", accountName: "acct", accountKey: "...", sasToken: undefined }
 * ```
 */
export function parseConnectionString(connectionString: string): ParsedConnectionString {
  if (typeof connectionString !== "string" || connectionString.trim() === "") {
    throw new InvalidArgumentError("connectionString must be a non-empty string");
  }
  const fields = new Map<string, string>();
  for (const part of connectionString.split(";")) {
    const trimmed = part.trim();
    if (trimmed === "") continue;
    const eq = trimmed.indexOf("=");
    if (eq <= 0) throw new InvalidArgumentError(`connectionString: "${trimmed.slice(0, 20)}" is not a key=value pair`);
    fields.set(trimmed.slice(0, eq).trim().toLowerCase(), trimmed.slice(eq + 1).trim());
  }

  if (fields.get("usedevelopmentstorage")?.toLowerCase() === "true") {
    const proxy = fields.get("developmentstorageproxyuri");
    return {
      blobEndpoint: proxy ? `${trimSlash(proxy)}/${DEVELOPMENT_ACCOUNT.accountName}` : DEVELOPMENT_ACCOUNT.blobEndpoint,
      accountName: DEVELOPMENT_ACCOUNT.accountName,
      accountKey: DEVELOPMENT_ACCOUNT.accountKey,
      sasToken: undefined,
    };
  }

  const accountName = fields.get("accountname") || undefined;
  const accountKey = fields.get("accountkey") || undefined;
  const sas = fields.get("sharedaccesssignature");
  const sasToken = sas ? sas.replace(/^\?/, "") : undefined;
  let blobEndpoint = fields.get("blobendpoint");
  if (!blobEndpoint) {
    if (!accountName) {
      throw new InvalidArgumentError("connectionString needs BlobEndpoint, or AccountName to build the endpoint from");
    }
    const protocol = (fields.get("defaultendpointsprotocol") ?? "https").toLowerCase();
    if (protocol !== "https" && protocol !== "http") {
      throw new InvalidArgumentError(
        `connectionString: DefaultEndpointsProtocol must be https or http, got ${protocol}`,
      );
    }
    const suffix = fields.get("endpointsuffix") ?? "core.windows.net";
    blobEndpoint = `${protocol}://${accountName}.blob.${suffix}`;
  }
  if (!accountKey && !sasToken) {
    throw new InvalidArgumentError("connectionString needs AccountKey or SharedAccessSignature");
  }
  return { blobEndpoint: trimSlash(blobEndpoint), accountName, accountKey, sasToken };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
