-- Stops launching trials (POST /v1/sweeps/:id/cancel). KEYS: sweep hash. ARGV: now.
-- Returns 'ok', or the status the sweep already has.
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 'missing' end
if st ~= 'running' then return st end
redis.call('HSET', KEYS[1], 'status', 'cancelling', 'reason', 'cancelled_by_user', 'updatedAt', ARGV[1])
return 'ok'
