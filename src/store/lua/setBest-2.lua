-- KEYS: job hash, webhook outbox stream. ARGV: best metrics JSON, now, tenant webhook index key.
-- Sets the job's best metrics record; when its epoch differs from the previous best's, that is a
-- new best checkpoint and the outbox gets a job.checkpoint event. Returns 0 when the job is gone.
--- @include "includes/outbox"

local prev = redis.call('HMGET', KEYS[1], 'tenant', 'best')
if not prev[1] then return 0 end
redis.call('HSET', KEYS[1], 'best', ARGV[1])
local was = nil
if prev[2] and prev[2] ~= '' then was = cjson.decode(prev[2])['epoch'] end
if was ~= cjson.decode(ARGV[1])['epoch'] then outbox(KEYS[1], ARGV[3], KEYS[2], 'job.checkpoint', ARGV[2]) end
return 1
