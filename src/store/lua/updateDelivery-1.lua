-- KEYS: deliveries hash. ARGV: eventId, JSON. Updates a delivery still in the log.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
