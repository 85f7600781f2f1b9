/**
 * SharedKey authorisation of Blob service requests: an HMAC-SHA256 over a
 * canonical description of the request, with WebCrypto so it runs on every
 * runtime. Spec: "Authorize with Shared Key" (version 2015-02-21 and later,
 * where a zero Content-Length is signed as an empty string).
 *
 * @module
 */
import { base64, fromBase64 } from "../../src/internal/encoding.js";

const encoder = new TextEncoder();

/** Headers that take part in the signature, in the order the spec lists them. */
const STANDARD = [
  "content-encoding",
  "content-language",
  "content-length",
  "content-md5",
  "content-type",
  "date",
  "if-modified-since",
  "if-match",
  "if-none-match",
  "if-unmodified-since",
  "range",
] as const;

/** Signs requests for one account; the key is imported once. */
export class SharedKeySigner {
  readonly #accountName: string;
  readonly #key: Promise<CryptoKey>;

  constructor(accountName: string, accountKeyBase64: string) {
    this.#accountName = accountName;
    const raw = fromBase64(accountKeyBase64);
    this.#key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    // A bad key surfaces on the first request, as a rejected promise there.
    this.#key.catch(() => {});
  }

  /** The `Authorization` header value for a request about to be sent as-is. */
  async authorization(method: string, url: URL, headers: Headers): Promise<string> {
    const signature = await crypto.subtle.sign(
      "HMAC",
      await this.#key,
      encoder.encode(this.stringToSign(method, url, headers)),
    );
    return `SharedKey ${this.#accountName}:${base64(new Uint8Array(signature))}`;
  }

  stringToSign(method: string, url: URL, headers: Headers): string {
    const standard = STANDARD.map((name) => {
      const value = headers.get(name) ?? "";
      return name === "content-length" && value === "0" ? "" : value;
    });
    const msHeaders: string[] = [];
    headers.forEach((value, name) => {
      if (name.startsWith("x-ms-")) msHeaders.push(`${name}:${value.replace(/\s+/g, " ").trim()}`);
    });
    msHeaders.sort();
    return [method.toUpperCase(), ...standard, ...msHeaders, this.#canonicalResource(url)].join("\n");
  }

  #canonicalResource(url: URL): string {
    // The path as sent (already percent-encoded), after the account name.
    let resource = `/${this.#accountName}${url.pathname}`;
    const params = new Map<string, string[]>();
    for (const [name, value] of url.searchParams) {
      const key = name.toLowerCase();
      params.set(key, [...(params.get(key) ?? []), value]);
    }
    for (const name of [...params.keys()].sort()) {
      resource += `\n${name}:${(params.get(name) ?? []).sort().join(",")}`;
    }
    return resource;
  }
}
