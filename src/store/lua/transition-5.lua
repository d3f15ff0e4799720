-- KEYS: job hash, job stream, checkpoint index, cancel flag (the last three expire with the job),
-- webhook outbox stream.
-- ARGV: new status, history entry JSON, allowed from-statuses (comma list, '' = any live one), now,
-- attempt, stream MAXLEN, retention seconds, status-index key prefix ('<p>:tenant:'), jobId,
-- status event JSON, then extra field/value pairs for the hash.
-- Returns {'ok', streamId} | {'missing'|'terminal'|'refused'|'same', current status}.
--- @include "includes/outbox"

local cur = redis.call('HMGET', KEYS[1], 'status', 'attempt', 'tenant', 'history')
if not cur[1] then return {'missing', ''} end
local status = cur[1]
local function terminal(s) return s == 'completed' or s == 'failed' or s == 'cancelled' end
if terminal(status) then return {'terminal', status} end
if ARGV[3] ~= '' then
  local ok = false
  for s in string.gmatch(ARGV[3], '[^,]+') do if s == status then ok = true end end
  if not ok then return {'refused', status} end
end
if status == ARGV[1] and cur[2] == ARGV[5] then return {'same', status} end
local h = cur[4]
if (not h) or h == '' or h == '[]' then h = '[' .. ARGV[2] .. ']' else h = string.sub(h, 1, -2) .. ',' .. ARGV[2] .. ']' end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'history', h, 'attempt', ARGV[5], 'updatedAt', ARGV[4], unpack(ARGV, 11))
local base = ARGV[8] .. cur[3] .. ':jobs:'
redis.call('ZREM', base .. status, ARGV[9])
redis.call('ZADD', base .. ARGV[1], 0, ARGV[9])
local sid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'type', 'status', 'data', ARGV[10])
if terminal(ARGV[1]) and tonumber(ARGV[7]) > 0 then
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[7]) end
end
outbox(KEYS[1], ARGV[8] .. cur[3] .. ':webhooks', KEYS[5], 'job.' .. ARGV[1], ARGV[4])
return {'ok', sid}
