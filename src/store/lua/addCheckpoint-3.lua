-- KEYS: checkpoint index, usage, checkpoint-bytes. ARGV: field, meta JSON (with size), size, jobId,
-- limit, then the fields of checkpoints about to be deleted (not counted against the limit). A
-- re-written epoch (a restarted attempt) is charged only its difference.
-- Returns {'ok'|'quota', bytes used before}.
--- @include "includes/usedBytes"

local function sizeOf(field)
  local m = redis.call('HGET', KEYS[1], field)
  if not m then return 0 end
  return tonumber(cjson.decode(m).size) or 0
end
local delta = tonumber(ARGV[3]) - sizeOf(ARGV[1])
local used = usedBytes(KEYS[2])
local freeing = 0
for i = 6, #ARGV do freeing = freeing + sizeOf(ARGV[i]) end
if delta > 0 and used - freeing + delta > tonumber(ARGV[5]) then return {'quota', tostring(used - freeing)} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if delta ~= 0 then
  redis.call('HINCRBY', KEYS[2], 'checkpoints', delta)
  redis.call('HINCRBY', KEYS[3], ARGV[4], delta)
end
return {'ok', tostring(used)}
