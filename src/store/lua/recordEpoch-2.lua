-- KEYS: job hash, job stream. ARGV: attempt, epoch, metrics JSON, progress JSON, stream MAXLEN,
-- now, best metrics JSON or ''. Field `lastMetrics` = 'attempt:epoch' drops repeats: an epoch at or
-- before the last recorded one is a duplicate whatever the attempt. A trainer records an epoch
-- before it writes that epoch's resume state, so a restarted attempt resumes at most one epoch
-- behind what clients have seen; that epoch's second run is bit-identical and is not recorded again.
-- Returns {'ok', streamId} | {'missing'|'terminal'|'duplicate'|'superseded', …}.
local st = redis.call('HMGET', KEYS[1], 'status', 'lastMetrics', 'attempt')
if not st[1] then return {'missing', ''} end
-- The record's attempt is a fencing token: a trainer whose job a later attempt took over writes
-- nothing, and hears so (before 'terminal': the later attempt may have ended it), so it leaves the
-- job to that attempt. The trainer asks nothing before this script: this is its one fence per epoch.
if st[3] and tonumber(st[3]) and tonumber(st[3]) > tonumber(ARGV[1]) then return {'superseded', st[3]} end
if st[1] == 'completed' or st[1] == 'failed' or st[1] == 'cancelled' then return {'terminal', st[1]} end
if st[2] then
  local a, e = string.match(st[2], '^(%d+):(%d+)$')
  if a and tonumber(ARGV[2]) <= tonumber(e) then return {'duplicate', ''} end
end
local sid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'metrics', 'data', ARGV[3])
redis.call('HSET', KEYS[1], 'latest', ARGV[3], 'progress', ARGV[4], 'lastMetrics', ARGV[1] .. ':' .. ARGV[2], 'updatedAt', ARGV[6])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'best', ARGV[7]) end
return {'ok', sid}
