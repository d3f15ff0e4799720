-- KEYS: record, tenant's pending set. ARGV: id, record JSON, ttl seconds, finished (1/0).
-- Only an existing record changes, and never once finished. Returns 1 when written.
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
local status = cjson.decode(old).status
if status == 'completed' or status == 'failed' then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if ARGV[4] == '1' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
