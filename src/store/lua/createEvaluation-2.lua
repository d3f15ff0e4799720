-- KEYS: record, tenant's pending set. ARGV: id, record JSON, ttl seconds, now ms, limit.
-- Drops pending entries past their expiry, then refuses beyond the limit. Returns 'ok' | 'limit'.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 'limit' end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]) + 1000 * tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], 1000 * tonumber(ARGV[3]))
return 'ok'
