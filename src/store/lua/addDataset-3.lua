-- KEYS: dataset hash, tenant's dataset index, usage. ARGV: limit, size, id, then the metadata's
-- field/value pairs. Returns {'ok'|'quota', bytes used before}.
--- @include "includes/usedBytes"

local used = usedBytes(KEYS[3])
local size = tonumber(ARGV[2])
if used + size > tonumber(ARGV[1]) then return {'quota', tostring(used)} end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], 0, ARGV[3])
redis.call('HINCRBY', KEYS[3], 'datasets', size)
return {'ok', tostring(used)}
