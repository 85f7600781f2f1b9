/**
 * The Lua scripts behind the semaphores; each runs atomically in Redis.
 *
 * State per semaphore key, all under one hash tag (one Cluster slot):
 * - `:sem` a sorted set of holder tokens scored by their expiry (epoch ms on
 *   Redis's clock), so "drop expired, count the live" is one range delete;
 * - `:semdata` a hash: `limit`, and `t:<token>` = `<fence>:<owner>`;
 * - `:semfence` the fence counter, never expired nor deleted;
 * - `:semwake` the wake-up list: one entry per release, popped by a waiter's
 *   `BLPOP`, gone within a second.
 * `:sem` and `:semdata` are kept alive (PEXPIRE) as long as the latest
 * permit, so an idle semaphore leaves only its counter behind.
 *
 * Replies are integers, plus owners as `o:<owner>` (see `scripts.ts`).
 *
 * @module
 */

const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, token in ipairs(expired) do redis.call('HDEL', KEYS[2], 't:' .. token) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
local function keep_alive()
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if last[2] then
    local ms = tonumber(last[2]) - now
    redis.call('PEXPIRE', KEYS[1], ms)
    redis.call('PEXPIRE', KEYS[2], ms)
  else
    redis.call('DEL', KEYS[2])
  end
end
local function fence_of(token)
  local data = redis.call('HGET', KEYS[2], 't:' .. token)
  if not data then return nil end
  return tonumber(string.match(data, '^(%d+):'))
end
`;

/**
 * KEYS: sem, semdata, semfence. ARGV: token, ttl ms, owner ('' for none), limit.
 * Reply: `{1, fence, expiresAt}` granted (also to a token that already holds
 * a permit: same fence, TTL refreshed), `{0, msUntilFirstExpiry}` all
 * permits held, `{2, storedLimit}` live permits under another limit.
 */
export const SEMAPHORE_ACQUIRE = `${PRELUDE}
local expires = now + tonumber(ARGV[2])
local own = redis.call('ZSCORE', KEYS[1], ARGV[1]) and fence_of(ARGV[1])
if own then
  redis.call('ZADD', KEYS[1], expires, ARGV[1])
  keep_alive()
  return {1, own, expires}
end
local limit = tonumber(ARGV[4])
local live = redis.call('ZCARD', KEYS[1])
if live > 0 then
  local stored = tonumber(redis.call('HGET', KEYS[2], 'limit'))
  if stored and stored ~= limit then return {2, stored} end
  if live >= limit then
    local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, math.max(1, tonumber(first[2]) - now)}
  end
else
  redis.call('DEL', KEYS[2])
end
local fence = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
redis.call('HSET', KEYS[2], 't:' .. ARGV[1], fence .. ':' .. ARGV[3], 'limit', limit)
keep_alive()
return {1, fence, expires}
`;

/** KEYS: sem, semdata. ARGV: token, ttl ms. Reply: `{1, fence, expiresAt}` or `{0}` not held. */
export const SEMAPHORE_EXTEND = `${PRELUDE}
local fence = redis.call('ZSCORE', KEYS[1], ARGV[1]) and fence_of(ARGV[1])
if not fence then return {0} end
local expires = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
keep_alive()
return {1, fence, expires}
`;

/**
 * KEYS: sem, semdata, wake-up list. ARGV: token, wake-up lifetime ms.
 * Reply: 1 released, 0 not held. Each freed permit pushes one wake-up (not
 * trimmed, unlike the lock's: two releases free two permits), which expires
 * with the list unless a waiter's `BLPOP` takes it.
 */
export const SEMAPHORE_RELEASE = `${PRELUDE}
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], 't:' .. ARGV[1])
keep_alive()
redis.call('RPUSH', KEYS[3], '1')
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 1
`;

/**
 * KEYS: sem, semdata. Reply: `{limit}` then `fence, expiresAt, 'o:' .. owner`
 * per live permit (`limit` 0 when none is live). Reads only.
 */
export const SEMAPHORE_INSPECT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
if #live == 0 then return {0} end
local reply = {tonumber(redis.call('HGET', KEYS[2], 'limit')) or 0}
for i = 1, #live, 2 do
  local data = redis.call('HGET', KEYS[2], 't:' .. live[i])
  if data then
    local fence, owner = string.match(data, '^(%d+):(.*)$')
    reply[#reply + 1] = tonumber(fence)
    reply[#reply + 1] = tonumber(live[i + 1])
    reply[#reply + 1] = 'o:' .. owner
  end
end
return reply
`;
