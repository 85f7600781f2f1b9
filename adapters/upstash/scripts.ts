/**
 * The Lua scripts behind each operation. Each runs atomically in Redis, so
 * "compare the token, then act" can never interleave with another client.
 *
 * State per lock key (a hash, expired by Redis itself with PEXPIRE):
 * `token` (never returned), `fence`, `owner` (absent when none was given).
 * The fence counter is a separate plain key that is never expired nor
 * deleted, so fences keep rising after release, expiry or eviction of the
 * lock key.
 *
 * Replies are arrays of integers (plus the owner as `o:<owner>`): clients
 * such as `@upstash/redis` JSON-parse strings in replies by default, and the
 * prefix keeps an owner like `"123"` or `"true"` a string.
 *
 * Expiry instants come from Redis `TIME`, so the backend clock is the only
 * one that matters; Redis ≥ 5 replicates script effects, which allows `TIME`
 * in a script that writes.
 *
 * @module
 */

const NOW = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * KEYS: lock, fence counter. ARGV: token, ttl ms, owner ('' for none).
 * Reply: `{1, fence, expiresAt}` granted (also to the holder's own token,
 * whose TTL is refreshed: a retry is the same request arriving again),
 * or `{0, pttl}` held by another token.
 */
export const ACQUIRE = `${NOW}
local holder = redis.call('HGET', KEYS[1], 'token')
if holder and holder ~= ARGV[1] then
  return {0, redis.call('PTTL', KEYS[1])}
end
local fence
if holder then
  fence = tonumber(redis.call('HGET', KEYS[1], 'fence'))
else
  fence = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[1], 'token', ARGV[1], 'fence', fence)
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'owner', ARGV[3]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, fence, now_ms() + tonumber(ARGV[2])}
`;

/** KEYS: lock. ARGV: token, ttl ms. Reply: `{1, fence, expiresAt}` or `{0}` not held. */
export const EXTEND = `${NOW}
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {0} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, tonumber(redis.call('HGET', KEYS[1], 'fence')), now_ms() + tonumber(ARGV[2])}
`;

/**
 * KEYS: lock, wake-up list. ARGV: token, wake-up lifetime ms. Reply: 1
 * released, 0 not held. The fence counter stays. A release leaves one
 * wake-up token (never more: one freed lock wakes one waiter) for a waiter
 * blocked in `BLPOP`, or about to be; it expires soon, so one nobody took
 * costs a later waiter a single extra attempt at most.
 */
export const RELEASE = `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[2], '1')
redis.call('LTRIM', KEYS[2], 0, 0)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

/**
 * KEYS: lock, wake-up list. ARGV: fence, wake-up lifetime ms. Reply: 1
 * freed, 0 free or held under another fence. No token needed (an
 * operator's break); the fence counter stays, and a waiter is woken as on
 * release.
 */
export const FORCE_RELEASE = `
if redis.call('HGET', KEYS[1], 'fence') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[2], '1')
redis.call('LTRIM', KEYS[2], 0, 0)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

/** KEYS: lock. Reply: `{0}` free, or `{1, fence, expiresAt}` plus `'o:' .. owner` when there is one. */
export const INSPECT = `${NOW}
local state = redis.call('HMGET', KEYS[1], 'fence', 'owner')
if not state[1] then return {0} end
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then return redis.error_reply('ERR edgelock: lock key without expiry, not written by edgelock') end
local reply = {1, tonumber(state[1]), now_ms() + pttl}
if state[2] then reply[4] = 'o:' .. state[2] end
return reply
`;

/**
 * KEYS: lock, value. ARGV: token, write id, data, '1' to store data or '0' to
 * delete it, expected version ('' for any). The value hash holds `v`
 * (version), `f` (writer's fence), `w` (last write id) and `d` (JSON text);
 * it never expires, and a deletion keeps `v`. The write id is compared first,
 * so a retry of a write already applied answers it whoever holds the lock.
 * Reply: `{1, version, fence}` written, `{0}` not held, `{2, version}`
 * version mismatch.
 */
export const WRITE_VALUE = `
local stored = redis.call('HMGET', KEYS[2], 'v', 'f', 'w')
if stored[3] == ARGV[2] then return {1, tonumber(stored[1]), tonumber(stored[2])} end
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {0} end
local version = tonumber(stored[1]) or 0
if ARGV[5] ~= '' and tonumber(ARGV[5]) ~= version then return {2, version} end
local fence = tonumber(redis.call('HGET', KEYS[1], 'fence'))
version = version + 1
redis.call('HSET', KEYS[2], 'v', version, 'f', fence, 'w', ARGV[2])
if ARGV[4] == '1' then redis.call('HSET', KEYS[2], 'd', ARGV[3]) else redis.call('HDEL', KEYS[2], 'd') end
return {1, version, fence}
`;

/** KEYS: value. Reply: `{version, fence}` plus `'d:' .. data` when there is a value. */
export const READ_VALUE = `
local stored = redis.call('HMGET', KEYS[1], 'v', 'f', 'd')
local reply = {tonumber(stored[1]) or 0, tonumber(stored[2]) or 0}
if stored[3] then reply[3] = 'd:' .. stored[3] end
return reply
`;
