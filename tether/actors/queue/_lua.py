"""The Lua scripts of the Redis backend: each one atomic step of `QueueCore`.

Keys, under a prefix P (see docs/queue.md):
  P:ready:0 .. P:ready:3   ZSET item id -> enqueue sequence, one per priority
  P:item:<id>              HASH kind, payload (JSON), priority, attempt, enqueued_at, last_error
  P:leases                 ZSET lease token -> deadline
  P:lease                  HASH lease token -> item id
  P:delayed                ZSET item id -> retry time
  P:dead                   ZSET item id -> sequence at death (oldest first)
  P:seq                    STRING the sequence counter
  P:streak                 STRING picks from the top priority while lower ones waited
  P:stats                  HASH enqueued, acked, retried, dead_lettered
Item keys are derived inside the scripts, so a Redis Cluster is not supported.
"""

from __future__ import annotations

# Every script gets the prefix as ARGV[1] and derives all keys from it.
_KEYS = """
local P = ARGV[1]
local READY = {P .. ':ready:0', P .. ':ready:1', P .. ':ready:2', P .. ':ready:3'}
local LEASES, LEASE, DELAYED, DEAD = P .. ':leases', P .. ':lease', P .. ':delayed', P .. ':dead'
local SEQ, STREAK, STATS = P .. ':seq', P .. ':streak', P .. ':stats'
local function item_key(id) return P .. ':item:' .. id end
local function size()
  local n = redis.call('ZCARD', LEASES) + redis.call('ZCARD', DELAYED) + redis.call('ZCARD', DEAD)
  for p = 1, 4 do n = n + redis.call('ZCARD', READY[p]) end
  return n
end
-- An id whose item is gone (settled through a duplicate) is dropped, not made ready.
local function make_ready(id)
  local priority = tonumber(redis.call('HGET', item_key(id), 'priority'))
  if priority then redis.call('ZADD', READY[priority + 1], redis.call('INCR', SEQ), id) end
end
"""

# ARGV: prefix, capacity, then per item: id, kind, payload, priority, enqueued_at.
# Takes items in order until capacity; returns how many it took.
ENQUEUE = (
    _KEYS
    + """
local taken, free = 0, tonumber(ARGV[2]) - size()
for i = 3, #ARGV, 5 do
  if taken >= free then break end
  local id = ARGV[i]
  redis.call('HSET', item_key(id), 'kind', ARGV[i + 1], 'payload', ARGV[i + 2],
    'priority', ARGV[i + 3], 'attempt', 1, 'enqueued_at', ARGV[i + 4])
  make_ready(id)
  taken = taken + 1
end
if taken > 0 then redis.call('HINCRBY', STATS, 'enqueued', taken) end
return taken
"""
)

# The starvation rule of `_core.choose`, once per token.
# ARGV: prefix, deadline, starvation_limit, token... Returns {token, id, fields...} per lease.
RESERVE = (
    _KEYS
    + """
local deadline, limit = ARGV[2], tonumber(ARGV[3])
local streak = tonumber(redis.call('GET', STREAK) or '0')
local out = {}
for i = 4, #ARGV do
  local heads, top = {}, nil
  for p = 1, 4 do
    local head = redis.call('ZRANGE', READY[p], 0, 0, 'WITHSCORES')
    if head[1] then
      heads[p] = {head[1], tonumber(head[2])}
      if not top then top = p end
    end
  end
  if not top then break end
  local oldest = nil
  for p = top + 1, 4 do
    if heads[p] and (not oldest or heads[p][2] < heads[oldest][2]) then oldest = p end
  end
  local pick = top
  if not oldest then streak = 0
  elseif streak >= limit then pick, streak = oldest, 0
  else streak = streak + 1 end
  local id, token = heads[pick][1], ARGV[i]
  redis.call('ZREM', READY[pick], id)
  local fields = redis.call('HGETALL', item_key(id))
  if #fields > 0 then
    redis.call('ZADD', LEASES, deadline, token)
    redis.call('HSET', LEASE, token, id)
    out[#out + 1] = {token, id, fields}
  end
end
redis.call('SET', STREAK, streak)
return out
"""
)

# ARGV: prefix, token... Returns the stale tokens.
ACK = (
    _KEYS
    + """
local stale, acked = {}, 0
for i = 2, #ARGV do
  local id = redis.call('HGET', LEASE, ARGV[i])
  if id then
    redis.call('HDEL', LEASE, ARGV[i])
    redis.call('ZREM', LEASES, ARGV[i])
    redis.call('DEL', item_key(id))
    acked = acked + 1
  else
    stale[#stale + 1] = ARGV[i]
  end
end
if acked > 0 then redis.call('HINCRBY', STATS, 'acked', acked) end
return stale
"""
)

# ARGV: prefix, token, error, retry_at ('' = dead letter). Returns 1, or 0 if stale.
NACK = (
    _KEYS
    + """
local id = redis.call('HGET', LEASE, ARGV[2])
if not id then return 0 end
redis.call('HDEL', LEASE, ARGV[2])
redis.call('ZREM', LEASES, ARGV[2])
redis.call('HSET', item_key(id), 'last_error', ARGV[3])
if ARGV[4] == '' then
  redis.call('ZADD', DEAD, redis.call('INCR', SEQ), id)
  redis.call('HINCRBY', STATS, 'dead_lettered', 1)
else
  redis.call('HINCRBY', item_key(id), 'attempt', 1)
  redis.call('ZADD', DELAYED, ARGV[4], id)
  redis.call('HINCRBY', STATS, 'retried', 1)
end
return 1
"""
)

# ARGV: prefix, token, deadline. Returns 1, or 0 if stale.
RENEW = (
    _KEYS
    + """
if not redis.call('ZSCORE', LEASES, ARGV[2]) then return 0 end
redis.call('ZADD', LEASES, ARGV[3], ARGV[2])
return 1
"""
)

# One pass of the clock: promote due retries, report expired leases and the next deadline.
# ARGV: prefix, now, batch. Returns {next_due or '', {token, deadline, id, fields}...}.
TICK = (
    _KEYS
    + """
local now, batch = ARGV[2], tonumber(ARGV[3])
for _, id in ipairs(redis.call('ZRANGE', DELAYED, '-inf', now, 'BYSCORE', 'LIMIT', 0, batch)) do
  redis.call('ZREM', DELAYED, id)
  make_ready(id)
end
local expired = {}
local due = redis.call('ZRANGE', LEASES, '-inf', now, 'BYSCORE', 'LIMIT', 0, batch, 'WITHSCORES')
for i = 1, #due, 2 do
  local id = redis.call('HGET', LEASE, due[i])
  local fields = id and redis.call('HGETALL', item_key(id)) or {}
  if #fields > 0 then
    expired[#expired + 1] = {due[i], due[i + 1], id, fields}
  else
    redis.call('ZREM', LEASES, due[i])
    redis.call('HDEL', LEASE, due[i])
  end
end
local next_due = ''
for _, key in ipairs({LEASES, DELAYED}) do
  local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if head[1] and (next_due == '' or tonumber(head[2]) < tonumber(next_due)) then
    next_due = head[2]
  end
end
return {next_due, expired}
"""
)

# ARGV: prefix, limit. Returns {id, fields}... oldest first.
LIST_DEAD = (
    _KEYS
    + """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', DEAD, 0, tonumber(ARGV[2]) - 1)) do
  out[#out + 1] = {id, redis.call('HGETALL', item_key(id))}
end
return out
"""
)

# ARGV: prefix, all ('1' or '0'), id... Returns the ids replayed.
REPLAY = (
    _KEYS
    + """
local ids = {}
if ARGV[2] == '1' then ids = redis.call('ZRANGE', DEAD, 0, -1)
else for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end end
local done = {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', DEAD, id) == 1 then
    redis.call('HSET', item_key(id), 'attempt', 1)
    make_ready(id)
    done[#done + 1] = id
  end
end
return done
"""
)

# ARGV: prefix, all ('1' or '0'), id... Returns the ids purged.
PURGE = (
    _KEYS
    + """
local ids = {}
if ARGV[2] == '1' then ids = redis.call('ZRANGE', DEAD, 0, -1)
else for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end end
local done = {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', DEAD, id) == 1 then
    redis.call('DEL', item_key(id))
    done[#done + 1] = id
  end
end
return done
"""
)

# ARGV: prefix. Returns {ready0..3, leases, delayed, dead, enqueued, acked, retried, dead_lettered}.
COUNTS = (
    _KEYS
    + """
local out = {}
for p = 1, 4 do out[p] = redis.call('ZCARD', READY[p]) end
out[5] = redis.call('ZCARD', LEASES)
out[6] = redis.call('ZCARD', DELAYED)
out[7] = redis.call('ZCARD', DEAD)
local stats = redis.call('HMGET', STATS, 'enqueued', 'acked', 'retried', 'dead_lettered')
for i = 1, 4 do out[7 + i] = tonumber(stats[i] or '0') end
return out
"""
)

# Items handed over from the memory fallback, with their state kept. Stops at capacity.
# ARGV: prefix, capacity, then per item: id, kind, payload, priority, attempt, enqueued_at,
# last_error ('' = none), where ('ready', 'delayed' or 'dead'), due. Returns how many it took.
ADOPT = (
    _KEYS
    + """
local taken, total = 0, size()
for i = 3, #ARGV, 9 do
  if total >= tonumber(ARGV[2]) then break end
  local id = ARGV[i]
  -- An item that reached Redis before the outage as well as the fallback is in Redis
  -- already, in some state: that copy wins.
  if redis.call('EXISTS', item_key(id)) == 0 then
    redis.call('HSET', item_key(id), 'kind', ARGV[i + 1], 'payload', ARGV[i + 2],
      'priority', ARGV[i + 3], 'attempt', ARGV[i + 4], 'enqueued_at', ARGV[i + 5])
    if ARGV[i + 6] ~= '' then redis.call('HSET', item_key(id), 'last_error', ARGV[i + 6]) end
    local where = ARGV[i + 7]
    if where == 'ready' then make_ready(id)
    elseif where == 'delayed' then redis.call('ZADD', DELAYED, ARGV[i + 8], id)
    else redis.call('ZADD', DEAD, redis.call('INCR', SEQ), id) end
    total = total + 1
  end
  taken = taken + 1
end
return taken
"""
)
