import { createHash } from 'node:crypto';

/**
 * The Redis broker's Lua scripts. Each runs atomically inside Redis, so ids,
 * history and the live feed can never disagree, whichever instance calls them.
 *
 * Keys (P = REDIS_KEY_PREFIX, E = epoch):
 *   P head            hash {epoch, seq, base, ms, cp, minid, held, lost}: the one counter every publish goes
 *                     through; `base` is the seq the epoch started after
 *   P E:t:<topic>     stream: the topic's history, entry id `<seq>-0`, fields y (type), d (JSON data),
 *                     ts (publish ms, Redis clock), p (seq of the topic's previous event)
 *   P E:log           stream: `<seq>-0` -> t (topic), p (previous logged seq); the live feed fills gaps from it
 *   P E:clock         stream: `<ms>-<seq>`, at most one a second: maps time to seq for TTL trimming
 *   P E:topics        sorted set: topic -> ms of its newest event, to forget whole topics past the TTL
 *   P retired         list: epochs whose keys later publishes delete, a few at a time
 *
 * `p` makes trimming honest: the first entry kept after a cursor names its
 * predecessor, so a replay knows for certain whether anything between the
 * cursor and it was trimmed (approximate `MAXLEN ~` included).
 *
 * Everything but `head` (and `retired`, the epochs whose keys are being deleted)
 * carries the epoch in its name: when Redis loses the head (FLUSHALL, eviction)
 * or rolls it back behind ids already handed out (an older snapshot, a failover
 * that lost writes), the next call starts a new epoch in fresh keys.
 */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, lua: string): LuaScript {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** Shared prologue: integer formatting (Lua's tostring turns 1e14 into "1e+14"), id parsing, the head. */
const PRELUDE = `
local function int(x) return string.format('%d', x) end
local function seqOf(id) return tonumber(string.match(id, '^%d+')) end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- The head, or a new one when Redis has none (FLUSHALL, eviction) or one behind a seq Herald has
-- already handed out (restored from an older snapshot, a failover that lost writes): that history
-- is gone, so a new epoch starts above every seq in use, and the old one's keys are retired.
local function ensureHead(head, prefix, proposedEpoch, floor)
  local h = redis.call('HMGET', head, 'epoch', 'seq')
  if h[1] and tonumber(h[2]) >= tonumber(floor) then return h[1] end
  if h[1] then redis.call('RPUSH', prefix .. 'retired', h[1]) end
  redis.call('DEL', head)
  redis.call('HSET', head, 'epoch', proposedEpoch, 'seq', floor, 'base', floor)
  return proposedEpoch
end
`;

/**
 * Publishes a batch: one seq per event from the head counter, each event into
 * its topic stream (MAXLEN ~ HISTORY_SIZE, MINID by HISTORY_TTL_MS) and the gap
 * log, then ONE live message for the whole batch.
 * KEYS[1] head. ARGV: prefix, channel, proposedEpoch, seqFloor, historySize,
 * ttlMs, logLength, sweepLimit, idempotencyKey ('' = none), fingerprint,
 * idempotencyTtlMs, then topic, type, dataJson per event.
 * Returns {epoch, firstSeq, ts, held}.
 *
 * With an idempotency key, the record `P idem:<key>` = "<fingerprint> <epoch> <firstSeq> <count>"
 * (PX idempotencyTtlMs) is read and written in the same atomic step as the publish, so two
 * instances given the same key publish once between them: a record with the same fingerprint
 * returns {epoch, firstSeq, 0, 0, 'replay', count} and publishes nothing; another fingerprint
 * returns {'', 0, 0, 0, 'mismatch'}.
 */
export const PUBLISH_SCRIPT = script(
  'publish',
  `${PRELUDE}
local head = KEYS[1]
local prefix, channel = ARGV[1], ARGV[2]
local historySize, ttl, logLength, sweepLimit = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local n = math.floor((#ARGV - 11) / 3)

local onceKey, fingerprint = ARGV[9], ARGV[10]
if onceKey ~= '' then
  onceKey = prefix .. 'idem:' .. onceKey
  local record = redis.call('GET', onceKey)
  if record then
    local f, e, s, c = string.match(record, '^(%S+) (%S+) (%d+) (%d+)$')
    if f == fingerprint then return {e, tonumber(s), 0, 0, 'replay', tonumber(c)} end
    return {'', 0, 0, 0, 'mismatch'}
  end
end

local epoch = ensureHead(head, prefix, ARGV[3], ARGV[4])
-- Every seq is logged: a log ahead of the head means the head alone went back in time.
local logPrev = 0
local logTop = redis.call('XREVRANGE', prefix .. epoch .. ':log', '+', '-', 'COUNT', 1)
if logTop[1] then logPrev = seqOf(logTop[1][1]) end
if logPrev > tonumber(redis.call('HGET', head, 'seq')) then
  epoch = ensureHead(head, prefix, ARGV[3], int(logPrev))
  logPrev = 0
end
local h = redis.call('HMGET', head, 'ms', 'cp', 'held', 'lost', 'minid')
local lastMs, checkpointMs = tonumber(h[1] or 0), tonumber(h[2] or 0)
local held, lost, minId = tonumber(h[3] or 0), tonumber(h[4] or 0), h[5]
-- Event times never go backwards, even if the Redis clock does.
local now = nowMs()
if now < lastMs then now = lastMs end
local cutoff = now - ttl
local first = redis.call('HINCRBY', head, 'seq', n) - n + 1

local base = prefix .. epoch .. ':'
local logKey, clockKey, topicsKey = base .. 'log', base .. 'clock', base .. 'topics'

-- A topic whose newest event is past the TTL is forgotten whole; what it held counts as lost.
local idle = redis.call('ZRANGEBYSCORE', topicsKey, '-inf', '(' .. int(cutoff), 'LIMIT', 0, sweepLimit)
for _, topic in ipairs(idle) do
  local key = base .. 't:' .. topic
  local top = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if top[1] and seqOf(top[1][1]) > lost then lost = seqOf(top[1][1]) end
  held = held - redis.call('XLEN', key)
  redis.call('DEL', key)
  redis.call('ZREM', topicsKey, topic)
end

-- Keys of a retired epoch go a few at a time.
local retired = redis.call('LINDEX', prefix .. 'retired', 0)
if retired then
  local old = prefix .. retired .. ':'
  local stale = redis.call('ZRANGE', old .. 'topics', 0, sweepLimit - 1)
  for _, topic in ipairs(stale) do redis.call('DEL', old .. 't:' .. topic) end
  if stale[1] then redis.call('ZREM', old .. 'topics', unpack(stale)) end
  if #stale < tonumber(sweepLimit) then
    redis.call('DEL', old .. 'log', old .. 'clock', old .. 'topics')
    redis.call('LPOP', prefix .. 'retired')
  end
end

-- Once a second: a checkpoint, and the TTL trim point (every seq below the newest checkpoint
-- older than the cutoff was published before it); in between, the trim point lags by < 1 s.
if now - checkpointMs >= 1000 then
  redis.call('XADD', clockKey, int(now) .. '-' .. int(first), 'x', '')
  checkpointMs = now
  local mark = redis.call('XREVRANGE', clockKey, int(cutoff - 1), '-', 'COUNT', 1)
  if mark[1] then
    minId = string.match(mark[1][1], '%-(%d+)$') .. '-0'
    redis.call('XTRIM', clockKey, 'MINID', mark[1][1])
  end
end

local previous, touched, items = {}, {}, {}
for i = 0, n - 1 do
  local topic, kind, data = ARGV[12 + 3 * i], ARGV[13 + 3 * i], ARGV[14 + 3 * i]
  local seq = first + i
  local key = base .. 't:' .. topic
  local prev = previous[topic]
  if prev == nil then
    local top = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
    -- A topic (re)created after expiring inherits what was lost with it.
    if top[1] then prev = seqOf(top[1][1]) else prev = lost end
    touched[#touched + 1] = topic
  end
  redis.call('XADD', key, int(seq) .. '-0', 'y', kind, 'd', data, 'ts', int(now), 'p', int(prev))
  redis.call('XADD', logKey, 'MAXLEN', '~', logLength, int(seq) .. '-0', 't', topic, 'p', int(logPrev))
  previous[topic] = seq
  logPrev = seq
  items[i + 1] = '[' .. cjson.encode(topic) .. ',' .. cjson.encode(kind) .. ',' .. data .. ']'
end
held = held + n
for _, topic in ipairs(touched) do
  local key = base .. 't:' .. topic
  held = held - redis.call('XTRIM', key, 'MAXLEN', '~', historySize)
  if minId and minId ~= '' then held = held - redis.call('XTRIM', key, 'MINID', minId) end
  redis.call('ZADD', topicsKey, now, topic)
end
redis.call('HSET', head, 'ms', int(now), 'cp', int(checkpointMs), 'held', int(held), 'lost', int(lost),
  'minid', minId or '')
redis.call('PUBLISH', channel, '{"e":"' .. epoch .. '","s":' .. int(first) .. ',"ts":' .. int(now) ..
  ',"h":' .. int(held) .. ',"v":[' .. table.concat(items, ',') .. ']}')
if onceKey ~= '' then
  redis.call('SET', onceKey, fingerprint .. ' ' .. epoch .. ' ' .. int(first) .. ' ' .. int(n), 'PX', ARGV[11])
end
return {epoch, first, now, held}
`,
);

/**
 * Replays topics after a cursor, or says why it cannot be exact.
 * KEYS[1] head. ARGV: prefix, proposedEpoch, seqFloor, ttlMs, cursorEpoch,
 * cursorSeq ('' = from now), topics...
 * Returns {epoch, headSeq, reset (0/1), held, entries of topic 1, entries of topic 2, ...}.
 */
export const REPLAY_SCRIPT = script(
  'replay',
  `${PRELUDE}
local head = KEYS[1]
local epoch = ensureHead(head, ARGV[1], ARGV[2], ARGV[3])
local h = redis.call('HMGET', head, 'seq', 'lost', 'held')
local headSeq, lost = tonumber(h[1]), tonumber(h[2] or 0)
local out = {epoch, headSeq, 0, tonumber(h[3] or 0)}
if ARGV[6] == '' then return out end
local after = tonumber(ARGV[6])
if ARGV[5] ~= epoch or after > headSeq then
  out[3] = 1
  return out
end
local cutoff = nowMs() - tonumber(ARGV[4])
local base = ARGV[1] .. epoch .. ':t:'
for i = 7, #ARGV do
  local key = base .. ARGV[i]
  local entries = redis.call('XRANGE', key, '(' .. ARGV[6] .. '-0', '+')
  local oldest = entries[1]
  if oldest then
    -- Fields: y, type, d, data, ts, <ts>, p, <previous seq>.
    if tonumber(oldest[2][8]) > after or tonumber(oldest[2][6]) < cutoff then
      out[3] = 1
      return out
    end
  elseif after < lost and redis.call('EXISTS', key) == 0 then
    out[3] = 1
    return out
  end
  out[#out + 1] = entries
end
return out
`,
);

/**
 * The live feed's catch-up: what was published after `afterSeq`, read from the
 * gap log (up to `count` events), with each touched topic's entries.
 * KEYS[1] head. ARGV: prefix, proposedEpoch, seqFloor, afterSeq ('' = just the head), count, feedEpoch.
 * Returns {epoch, headSeq, logExact (0/1), uptoSeq, topic, entries, topic, entries, ...}; when the
 * epoch is not the feed's, only {epoch, headSeq, 1, base}: the feed goes on from the epoch's start.
 */
export const CATCH_UP_SCRIPT = script(
  'catch-up',
  `${PRELUDE}
local head = KEYS[1]
local epoch = ensureHead(head, ARGV[1], ARGV[2], ARGV[3])
local h = redis.call('HMGET', head, 'seq', 'base')
local headSeq = tonumber(h[1])
if ARGV[4] == '' then return {epoch, headSeq, 1, headSeq} end
-- A head written before 'base' existed: its start is unknown, so the feed goes on from the head.
if ARGV[6] ~= epoch then return {epoch, headSeq, 1, tonumber(h[2] or headSeq)} end
local after = tonumber(ARGV[4])
local base = ARGV[1] .. epoch .. ':'
local log = redis.call('XRANGE', base .. 'log', '(' .. ARGV[4] .. '-0', '+', 'COUNT', ARGV[5])
if not log[1] then
  -- The newest logged event is never trimmed: an empty log after the cursor is a loss only if seqs were used.
  if headSeq > after then return {epoch, headSeq, 0, headSeq} end
  return {epoch, headSeq, 1, after}
end
local upto = seqOf(log[#log][1])
-- Fields: t, topic, p, <previous logged seq>.
if tonumber(log[1][2][4]) > after then return {epoch, headSeq, 0, upto} end
local out = {epoch, headSeq, 1, upto}
local seen = {}
for _, entry in ipairs(log) do
  local topic = entry[2][2]
  if not seen[topic] then
    seen[topic] = true
    out[#out + 1] = topic
    out[#out + 1] = redis.call('XRANGE', base .. 't:' .. topic, '(' .. ARGV[4] .. '-0', int(upto) .. '-0')
  end
end
return out
`,
);
