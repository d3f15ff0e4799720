-- KEYS: checkpoint index, usage, checkpoint-bytes. ARGV: field, jobId. Returns the bytes freed.
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local size = tonumber(cjson.decode(old).size) or 0
if size ~= 0 then
  redis.call('HINCRBY', KEYS[2], 'checkpoints', -size)
  if redis.call('HINCRBY', KEYS[3], ARGV[2], -size) <= 0 then redis.call('HDEL', KEYS[3], ARGV[2]) end
end
return size
