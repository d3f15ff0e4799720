-- KEYS: job hash, usage, checkpoint-bytes. ARGV: jobId. Gives back the checkpoint bytes of a job
-- whose record has expired. Returns the bytes freed, or -1 while the record exists.
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local b = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0') or 0
redis.call('HDEL', KEYS[3], ARGV[1])
if b ~= 0 then redis.call('HINCRBY', KEYS[2], 'checkpoints', -b) end
return b
