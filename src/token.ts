/**
 * Owner tokens: 128 bits from the platform's CSPRNG (WebCrypto, present on
 * Workers, Node ≥ 20, Deno, Bun), base64url without padding: 22 characters,
 * safe in headers, URLs, JSON and as an Azure lease id after formatting.
 */
export function newToken(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
