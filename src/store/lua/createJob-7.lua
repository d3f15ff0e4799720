-- KEYS: job hash, tenant's job index, tenant's queued index, job stream, idempotency key, tenant's
-- webhook index, webhook outbox stream.
-- ARGV: jobId, bodyHash, queued limit, idempotency TTL, stream MAXLEN, first status event JSON,
-- '1' when an Idempotency-Key was given, then the record's field/value pairs.
-- Returns {'exists', 'jobId bodyHash'} | {'limit', ''} | {'created', jobId}.
--- @include "includes/outbox"

if ARGV[7] == '1' then
  local v = redis.call('GET', KEYS[5])
  if v then return {'exists', v} end
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {'limit', ''} end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'type', 'status', 'data', ARGV[6])
if ARGV[7] == '1' then redis.call('SET', KEYS[5], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[4]) end
outbox(KEYS[1], KEYS[6], KEYS[7], 'job.queued', redis.call('HGET', KEYS[1], 'createdAt'))
return {'created', ARGV[1]}
