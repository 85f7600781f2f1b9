import { base64url } from "./internal/encoding.js";

// Random bytes are drawn from the CSPRNG in blocks and handed out 16 at a
// time, each byte once: one `getRandomValues` call per 1 024 tokens (16 KiB,
// within its 64 KiB limit) instead of one per token. The bytes are as
// unpredictable either way.
const BLOCK_TOKENS = 1_024;
const pool = new Uint8Array(16 * BLOCK_TOKENS);
let next = pool.length;

/**
 * Owner tokens: 128 bits from the platform's CSPRNG (WebCrypto, present on
 * Workers, Node ≥ 20, Deno, Bun), base64url without padding: 22 characters,
 * safe in headers, URLs, JSON and as an Azure lease id after formatting.
 */
export function newToken(): string {
  if (next === pool.length) {
    crypto.getRandomValues(pool);
    next = 0;
  }
  const token = base64url(pool, next, next + 16);
  // Spent bytes are wiped so that no later read of the pool can see them.
  pool.fill(0, next, next + 16);
  next += 16;
  return token;
}
