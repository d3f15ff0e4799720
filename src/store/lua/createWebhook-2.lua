-- KEYS: webhook hash, tenant index. ARGV: id, per-tenant limit, then field/value pairs.
-- Returns 'limit' or 'ok'.
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 'limit' end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 'ok'
