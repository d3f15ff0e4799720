-- Launches trial k when it is the next one, the sweep still runs, it has trials left and (for a
-- runnable trial) fewer than `parallelism` live ones. A trial whose spec cannot run is recorded
-- finished ('invalid') at once and takes no slot.
-- KEYS: sweep hash, trials hash, live set, done hash, sweep stream.
-- ARGV: k, trial JSON, '1' runnable | '0' invalid, now, done JSON (invalid), event JSON, stream MAXLEN.
-- Returns 'ok' | 'race' (another process launched k) | 'busy' | 'full' | 'stopped' | 'missing'.
--- @include "includes/sweepEvent"

local st = redis.call('HMGET', KEYS[1], 'status', 'next', 'maxTrials', 'parallelism')
if not st[1] then return 'missing' end
if st[1] ~= 'running' then return 'stopped' end
local nxt = tonumber(st[2])
if nxt ~= tonumber(ARGV[1]) then return 'race' end
if nxt >= tonumber(st[3]) then return 'full' end
if ARGV[3] == '1' and redis.call('SCARD', KEYS[3]) >= tonumber(st[4]) then return 'busy' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], 'next', nxt + 1, 'updatedAt', ARGV[4])
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[3], ARGV[1])
  event(KEYS[5], ARGV[7], 'trial_started', ARGV[6])
else
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'n:invalid', 1)
  event(KEYS[5], ARGV[7], 'trial_finished', ARGV[6])
end
return 'ok'
