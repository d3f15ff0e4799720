-- HSET only on a record that still exists: an expired job must not come back as a fragment.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
