/**
 * The Redis presence scripts. Each runs atomically, so a topic's 0 ↔ ≥ 1
 * transitions are seen by exactly one call in the whole cluster: the instance
 * whose call saw one reports it.
 *
 * Keys (P = REDIS_KEY_PREFIX):
 *   P pr:i              sorted set: instance -> ms its presence expires (renewed every sweep)
 *   P pr:i:<inst>       hash: topic -> the instance's streams on it
 *   P pr:im:<inst>      hash: "<topic>\n<member>" -> the instance's streams of that member
 *   P pr:c              hash: topic -> streams on it, every instance summed
 *   P pr:n              sorted set (all scores 0, so in code-unit order): the topics in pr:c
 *   P pr:m:<topic>      hash: member -> streams, every instance summed
 *   P pr:ml:<topic>     sorted set (scores 0): the members of pr:m:<topic>, for pages in order
 *   P pr:named          hash: topic -> streams with a member (the rest are anonymous)
 *   P pr:v              sorted set: topic -> ms its vacate grace ends (at zero, not yet reported)
 *
 * An instance writes ABSOLUTE counts (`SYNC`): the script applies the
 * difference to what it last wrote, so a call that is retried after a lost
 * answer changes nothing twice. A dead instance (its `pr:i` score in the past)
 * is reaped by whichever instance sweeps first, in the same atomic step.
 */
const PRELUDE = `
local p = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local grace = tonumber(ARGV[4])
-- Adds d streams to a topic's cluster count; returns 1 when that made it occupied and it was not
-- waiting out a vacate grace (a transition to report), else 0.
local function addTopic(topic, d)
  local c = redis.call('HINCRBY', p .. 'pr:c', topic, d)
  if c <= 0 then
    redis.call('HDEL', p .. 'pr:c', topic)
    redis.call('ZREM', p .. 'pr:n', topic)
    if c - d > 0 then redis.call('ZADD', p .. 'pr:v', now + grace, topic) end
    return 0
  end
  if c - d <= 0 then
    redis.call('ZADD', p .. 'pr:n', 0, topic)
    if redis.call('ZREM', p .. 'pr:v', topic) == 0 then return 1 end
  end
  return 0
end
local function addMember(topic, member, d)
  local c = redis.call('HINCRBY', p .. 'pr:m:' .. topic, member, d)
  if c <= 0 then
    redis.call('HDEL', p .. 'pr:m:' .. topic, member)
    redis.call('ZREM', p .. 'pr:ml:' .. topic, member)
  elseif c - d <= 0 then
    redis.call('ZADD', p .. 'pr:ml:' .. topic, 0, member)
  end
  if redis.call('HINCRBY', p .. 'pr:named', topic, d) <= 0 then redis.call('HDEL', p .. 'pr:named', topic) end
end
-- Sets one field of an instance hash to an absolute count; returns the difference to apply.
local function setAbsolute(hash, field, abs)
  local d = abs - tonumber(redis.call('HGET', hash, field) or '0')
  if d ~= 0 then
    if abs > 0 then redis.call('HSET', hash, field, abs) else redis.call('HDEL', hash, field) end
  end
  return d
end
-- Renews an instance; returns 1 when Redis did not know it (new, reaped, or Redis lost its data).
local function renew(inst, ttl)
  local known = redis.call('ZSCORE', p .. 'pr:i', inst)
  redis.call('ZADD', p .. 'pr:i', now + ttl, inst)
  if known then return 0 end
  return 1
end
`;

/**
 * ARGV: prefix, instance, ttlMs, graceMs, topicCount, then topicCount pairs
 * (topic, absolute count), then triples (topic, member, absolute count).
 * Returns {unknownInstance, now, occupied topics}.
 */
export const SYNC_LUA = `${PRELUDE}
local inst = ARGV[2]
local fresh = renew(inst, tonumber(ARGV[3]))
local ih, imh = p .. 'pr:i:' .. inst, p .. 'pr:im:' .. inst
local occupied = {}
local i = 6
for _ = 1, tonumber(ARGV[5]) do
  local topic = ARGV[i]
  local d = setAbsolute(ih, topic, tonumber(ARGV[i + 1]))
  if d ~= 0 and addTopic(topic, d) == 1 then occupied[#occupied + 1] = topic end
  i = i + 2
end
while i <= #ARGV do
  local topic, member = ARGV[i], ARGV[i + 1]
  local d = setAbsolute(imh, topic .. '\\n' .. member, tonumber(ARGV[i + 2]))
  if d ~= 0 then addMember(topic, member, d) end
  i = i + 3
end
return {fresh, now, occupied}
`;

/**
 * ARGV: prefix, instance, ttlMs ('0': leave instead of renewing), graceMs, limit.
 * Renews this instance, reaps up to `limit` dead ones (their streams stop
 * counting; topics that reach zero start their grace), and reports up to
 * `limit` topics whose grace is over while still at zero.
 * Returns {unknownInstance, now, vacated topics, the ms each reached zero}.
 */
export const SWEEP_LUA = `${PRELUDE}
local inst, ttl, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
local function reap(dead)
  local ih, imh = p .. 'pr:i:' .. dead, p .. 'pr:im:' .. dead
  local counts = redis.call('HGETALL', ih)
  for j = 1, #counts, 2 do addTopic(counts[j], -tonumber(counts[j + 1])) end
  local members = redis.call('HGETALL', imh)
  for j = 1, #members, 2 do
    local field = members[j]
    local cut = string.find(field, '\\n', 1, true)
    addMember(string.sub(field, 1, cut - 1), string.sub(field, cut + 1), -tonumber(members[j + 1]))
  end
  redis.call('DEL', ih, imh)
  redis.call('ZREM', p .. 'pr:i', dead)
end
local fresh = 0
if ttl > 0 then fresh = renew(inst, ttl) else reap(inst) end
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', p .. 'pr:i', '-inf', now, 'LIMIT', 0, limit)) do reap(dead) end
local vacated, at = {}, {}
local due = redis.call('ZRANGEBYSCORE', p .. 'pr:v', '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
for j = 1, #due, 2 do
  local topic = due[j]
  redis.call('ZREM', p .. 'pr:v', topic)
  if not redis.call('HGET', p .. 'pr:c', topic) then
    vacated[#vacated + 1] = topic
    at[#at + 1] = string.format('%d', tonumber(due[j + 1]) - grace)
  end
end
return {fresh, now, vacated, at}
`;

/**
 * ARGV: prefix, topic, after ('' = from the start), limit. One page of a
 * topic's members in code-unit order, read with its counts in one atomic step.
 * Returns {subscribers, named streams, up to limit + 1 member keys, their counts}.
 */
export const PAGE_LUA = `
local p, topic, after, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local subscribers = redis.call('HGET', p .. 'pr:c', topic) or '0'
local named = redis.call('HGET', p .. 'pr:named', topic) or '0'
local min = '-'
if after ~= '' then min = '(' .. after end
local keys = redis.call('ZRANGEBYLEX', p .. 'pr:ml:' .. topic, min, '+', 'LIMIT', 0, limit + 1)
local counts = {}
for j, key in ipairs(keys) do counts[j] = redis.call('HGET', p .. 'pr:m:' .. topic, key) end
return {tonumber(subscribers), tonumber(named), keys, counts}
`;
