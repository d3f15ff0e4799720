-- KEYS: sweep hash, tenant's sweep index, active sweeps set, sweep stream, idempotency key.
-- ARGV: sweep id, '1' when an Idempotency-Key was given, body hash, idempotency TTL, then the
-- hash's field/value pairs.
-- Returns {'exists', 'sweepId bodyHash'} for a key seen before, else {'created', sweepId}.
if ARGV[2] == '1' then
  local v = redis.call('GET', KEYS[5])
  if v then return {'exists', v} end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
if ARGV[2] == '1' then redis.call('SET', KEYS[5], ARGV[1] .. ' ' .. ARGV[3], 'EX', ARGV[4]) end
return {'created', ARGV[1]}
