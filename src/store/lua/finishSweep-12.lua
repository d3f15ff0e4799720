-- Ends the sweep once nothing is live and nothing is left to launch (or it is being cancelled):
-- completed | cancelled, the sweep_finished event, out of the active set, and the retention clock
-- on every key. KEYS: sweep hash, live set, active set, sweep stream, then the keys to expire.
-- ARGV: sweep id, now, retention seconds, stream MAXLEN.
-- Returns the new status | 'live' | 'pending' | 'already' | 'missing'.
--- @include "includes/sweepEvent"

local st = redis.call('HMGET', KEYS[1], 'status', 'next', 'maxTrials')
if not st[1] then return 'missing' end
if st[1] == 'completed' or st[1] == 'cancelled' then return 'already' end
if redis.call('SCARD', KEYS[2]) > 0 then return 'live' end
local status
if st[1] == 'cancelling' then status = 'cancelled'
elseif tonumber(st[2]) >= tonumber(st[3]) then status = 'completed'
else return 'pending' end
redis.call('HSET', KEYS[1], 'status', status, 'finishedAt', ARGV[2], 'updatedAt', ARGV[2])
redis.call('SREM', KEYS[3], ARGV[1])
event(KEYS[4], ARGV[4], 'sweep_finished', cjson.encode({status = status, at = ARGV[2]}))
if tonumber(ARGV[3]) > 0 then
  for i = 1, #KEYS do
    if i ~= 3 then redis.call('EXPIRE', KEYS[i], ARGV[3]) end
  end
end
return status
