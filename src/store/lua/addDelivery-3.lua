-- KEYS: webhook hash, deliveries hash, order zset. ARGV: eventId, score (ms), JSON, log size.
-- Adds a delivery to the log unless it is there already (a re-dispatched event keeps its record)
-- or the webhook is gone; drops the oldest beyond the log size.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
local n = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[4])
if n > 0 then
  local old = redis.call('ZRANGE', KEYS[3], 0, n - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, n - 1)
  redis.call('HDEL', KEYS[2], unpack(old))
end
return 1
