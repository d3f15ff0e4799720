-- Records a live trial as finished (once: a repeat returns 0).
-- KEYS: sweep hash, live set, done hash, sweep stream.
-- ARGV: k, outcome (completed | pruned | failed | cancelled), done JSON, now, event JSON, stream MAXLEN.
--- @include "includes/sweepEvent"

if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[2], 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
event(KEYS[4], ARGV[6], 'trial_finished', ARGV[5])
return 1
