-- KEYS: sweep hash, tenant's sweep index, active sweeps set, sweep stream.
-- ARGV: sweep id, then the hash's field/value pairs. Returns 1.
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
