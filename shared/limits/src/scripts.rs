//! The Lua scripts behind [`crate::ClaimLimiter`]. Each runs atomically inside Redis, so a
//! check and its reservation cannot be split by another replica's claim.
//!
//! Keys, always in this order (three per subject where a script takes several): the rep's
//! claim log, the rep's claim log for one pool, the rep's cooldown state. A claim log is a sorted set of claim tokens
//! scored by claim time in ms; `<log>:seeded` marks a log rebuilt from Postgres history, so a
//! Redis that lost its data is refilled before it is trusted again.

/// Reserves for several subjects at once, one after the other (a later one sees what an
/// earlier one reserved, also for the same rep), in one round trip: the claims of a group
/// commit. KEYS: three per subject. ARGV: now_ms, retention_ms, then per subject: wanted,
/// token, window count n, (log index, window_ms, max) per window, cooldown_after,
/// cooldown_pause_ms (0, 0 when there is no cooldown). Returns four numbers per subject:
/// {granted, blocking, used, retry_ms} — blocking is the 1-based window that refused, n + 1 for
/// the cooldown, 0 when nothing refused — or {-1, log index, 0, 0} when one of its logs needs
/// seeding first (nothing is reserved for it).
pub const RESERVE: &str = r"
local now, retention = tonumber(ARGV[1]), tonumber(ARGV[2])
local function ms(x) return string.format('%d', x) end

local function reserve(keys, wanted, token, n, windows, after, pause)
  for log = 1, 2 do
    if redis.call('EXISTS', keys[log] .. ':seeded') == 0 then return {-1, log, 0, 0} end
    redis.call('ZREMRANGEBYSCORE', keys[log], '-inf', ms(now - retention))
  end

  local grant, blocking, blocking_used, retry = wanted, 0, 0, 0
  local streak, last = 0, 0
  if after > 0 then
    local state = redis.call('HMGET', keys[3], 'streak', 'last', 'until')
    streak, last = tonumber(state[1]) or 0, tonumber(state[2]) or 0
    local cooling_until = tonumber(state[3]) or 0
    if now < cooling_until then
      grant, blocking, blocking_used, retry = 0, n + 1, after, cooling_until - now
    else
      -- A break as long as the pause ends the run of claims.
      if now - last >= pause then streak = 0 end
      if after - streak < grant then grant = after - streak end
    end
  end

  for i = 0, n - 1 do
    local log = keys[tonumber(ARGV[windows + 3 * i])]
    local w, max = tonumber(ARGV[windows + 1 + 3 * i]), tonumber(ARGV[windows + 2 + 3 * i])
    local used = redis.call('ZCOUNT', log, '(' .. ms(now - w), '+inf')
    local free = max - used
    if free < 1 then
      -- Room returns when the claim that is (used - max + 1)-th oldest in the window leaves it.
      local entry = redis.call('ZRANGEBYSCORE', log, '(' .. ms(now - w), '+inf', 'WITHSCORES', 'LIMIT', used - max, 1)
      local wait = w
      if entry[2] then wait = tonumber(entry[2]) + w - now end
      if wait > retry then blocking, blocking_used, retry = i + 1, used, wait end
      grant = 0
    elseif free < grant then
      grant = free
    end
  end

  if grant > 0 then
    for log = 1, 2 do
      for j = 1, grant do redis.call('ZADD', keys[log], ARGV[1], token .. ':' .. j) end
      redis.call('PEXPIRE', keys[log], ms(retention))
      redis.call('PEXPIRE', keys[log] .. ':seeded', ms(retention))
    end
    if after > 0 then
      streak = streak + grant
      local cooling_until, trigger = 0, ''
      if streak >= after then cooling_until, trigger, streak = now + pause, token, 0 end
      redis.call('HSET', keys[3], 'streak', streak, 'last', ARGV[1], 'until', ms(cooling_until), 'trigger', trigger)
      redis.call('PEXPIRE', keys[3], ms(pause))
    end
  end
  return {grant, blocking, blocking_used, retry}
end

local out, a, subject = {}, 3, 0
while a <= #ARGV do
  local keys = {KEYS[3 * subject + 1], KEYS[3 * subject + 2], KEYS[3 * subject + 3]}
  local wanted, token, n = tonumber(ARGV[a]), ARGV[a + 1], tonumber(ARGV[a + 2])
  local windows = a + 3
  local after, pause = tonumber(ARGV[windows + 3 * n]), tonumber(ARGV[windows + 3 * n + 1])
  for _, v in ipairs(reserve(keys, wanted, token, n, windows, after, pause)) do
    table.insert(out, v)
  end
  a, subject = windows + 3 * n + 2, subject + 1
end
return out
";

/// Hands back unused claims of several reservations in one round trip. KEYS: the three of
/// each reservation. ARGV per reservation: token, granted, unused, cooldown_after. Removes
/// the last `unused` claims of a reservation from both logs and takes them out of the
/// cooldown run; a cooldown the reservation started is lifted, since the claims that started
/// it did not happen.
pub const RELEASE: &str = r"
for r = 0, #ARGV / 4 - 1 do
  local log, pool_log, cooldown = KEYS[3 * r + 1], KEYS[3 * r + 2], KEYS[3 * r + 3]
  local token, granted = ARGV[4 * r + 1], tonumber(ARGV[4 * r + 2])
  local unused, after = tonumber(ARGV[4 * r + 3]), tonumber(ARGV[4 * r + 4])
  for j = granted - unused + 1, granted do
    redis.call('ZREM', log, token .. ':' .. j)
    redis.call('ZREM', pool_log, token .. ':' .. j)
  end
  if after > 0 and redis.call('EXISTS', cooldown) == 1 then
    if redis.call('HGET', cooldown, 'trigger') == token then
      redis.call('HSET', cooldown, 'streak', after - unused, 'until', '0', 'trigger', '')
    else
      local streak = tonumber(redis.call('HGET', cooldown, 'streak')) or 0
      redis.call('HSET', cooldown, 'streak', math.max(0, streak - unused))
    end
  end
end
return 1
";

/// KEYS[1]: one claim log. ARGV: retention_ms, then the claim times (ms) from Postgres.
/// Replaces the log with that history unless another replica seeded it first.
pub const SEED: &str = r"
if redis.call('EXISTS', KEYS[1] .. ':seeded') == 1 then return 0 end
redis.call('DEL', KEYS[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], ARGV[i], 'history:' .. (i - 1))
end
redis.call('SET', KEYS[1] .. ':seeded', '1', 'PX', ARGV[1])
if #ARGV > 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
";

/// Read-only; only the logs the windows count need to be seeded. ARGV: now_ms, window count n, then (log index, window_ms) per window. Returns,
/// per window, {used, oldest_ms or -1}, then {streak, last_ms, cooling_until_ms}; or {-1, log}
/// when a log needs seeding first.
pub const STATUS: &str = r"
local now, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local function ms(x) return string.format('%d', x) end
for i = 0, n - 1 do
  local log = tonumber(ARGV[3 + 2 * i])
  if redis.call('EXISTS', KEYS[log] .. ':seeded') == 0 then return {-1, log} end
end
local out = {}
for i = 0, n - 1 do
  local log = KEYS[tonumber(ARGV[3 + 2 * i])]
  local w = tonumber(ARGV[4 + 2 * i])
  local used = redis.call('ZCOUNT', log, '(' .. ms(now - w), '+inf')
  local oldest = redis.call('ZRANGEBYSCORE', log, '(' .. ms(now - w), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  table.insert(out, used)
  table.insert(out, tonumber(oldest[2]) or -1)
end
local state = redis.call('HMGET', KEYS[3], 'streak', 'last', 'until')
table.insert(out, tonumber(state[1]) or 0)
table.insert(out, tonumber(state[2]) or 0)
table.insert(out, tonumber(state[3]) or 0)
return out
";
