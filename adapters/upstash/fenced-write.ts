/**
 * Fenced writes to your own Redis keys: a hash keeps the fence of the last
 * lease that wrote it, and one Lua script compares and sets it together with
 * your fields, so a stale holder's write never lands.
 *
 * @module
 */
import { InvalidArgumentError } from "../../src/errors.js";
import { unreadable } from "./failures.js";
import { LuaScript, type UpstashScriptClient } from "./lua-script.js";

/**
 * KEYS: your hash. ARGV: fence, fence field, '1' for once, then field/value
 * pairs. Reply `{1, fence}` written, `{0, highest}` refused.
 */
const FENCED_HSET = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
if not current then return redis.error_reply('ERR edgelock: the fence field does not hold a number') end
local fence = tonumber(ARGV[1])
if current > fence or (ARGV[3] == '1' and current == fence) then return {0, current} end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return {1, fence}
`;

const script = new LuaScript("fenced hset", FENCED_HSET);

/** Options of {@link fencedHashSet}. */
export interface FencedHashSetOptions {
  /** Hash field holding the fence. Default `"fence"`. */
  readonly fenceField?: string;
  /** `true`: refuse a second write with the same fence. Default `false`: one lease may write several times. */
  readonly once?: boolean;
}

/** What {@link fencedHashSet} answers. */
export type FencedWriteResult = { readonly ok: true } | { readonly ok: false; readonly highest: number };

/**
 * `HSET key field value …` only if the hash's fence field is absent or not
 * higher than `fence`, setting it to `fence` in the same script.
 *
 * @example
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import { fencedHashSet } from "edgelock/upstash";
 * const redis = new Redis({ url, token });
 * const result = await fencedHashSet(redis, "report:daily", lease.fence, { status: "done" });
 * if (!result.ok) console.warn(`overtaken by fence ${result.highest}`);
 * ```
 */
export async function fencedHashSet(
  redis: UpstashScriptClient,
  key: string,
  fence: number,
  fields: Readonly<Record<string, string>>,
  options: FencedHashSetOptions = {},
): Promise<FencedWriteResult> {
  if (typeof redis?.evalsha !== "function") throw new InvalidArgumentError("redis must be an @upstash/redis client");
  if (typeof key !== "string" || key === "") throw new InvalidArgumentError("key must be a non-empty string");
  if (!Number.isSafeInteger(fence) || fence < 1) {
    throw new InvalidArgumentError(`fence must be a positive safe integer, got ${String(fence)}`);
  }
  const fenceField = options.fenceField ?? "fence";
  const pairs = Object.entries(fields ?? {});
  if (pairs.some(([name, value]) => name === fenceField || typeof value !== "string")) {
    throw new InvalidArgumentError("fields must map names other than the fence field to strings");
  }
  const reply = await script.run(redis, [key], [fence, fenceField, options.once ? "1" : "0", ...pairs.flat()]);
  if (Array.isArray(reply) && reply.length === 2 && Number.isSafeInteger(reply[1])) {
    if (reply[0] === 1) return { ok: true };
    if (reply[0] === 0) return { ok: false, highest: reply[1] as number };
  }
  throw unreadable("fenced hset", reply, true);
}
