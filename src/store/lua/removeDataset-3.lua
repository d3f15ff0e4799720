-- KEYS: dataset hash, tenant's dataset index, usage. ARGV: id, tenant, and optionally an expiry
-- cutoff (ISO time) with the job-key prefix and the tenant's queued and running index keys: then the
-- dataset goes only if last used before the cutoff and no queued or running job's spec names it.
-- Returns the bytes freed, or -1 (no such dataset for the tenant), -2 (not expired), -3 (in use).
local h = redis.call('HMGET', KEYS[1], 'tenant', 'size', 'createdAt', 'lastUsedAt')
if h[1] ~= ARGV[2] then return -1 end
if ARGV[3] then
  local last = h[3] or ''
  if h[4] and h[4] > last then last = h[4] end
  if last >= ARGV[3] then return -2 end
  local quoted = '"' .. ARGV[1] .. '"'
  for i = 5, 6 do
    for _, id in ipairs(redis.call('ZRANGE', ARGV[i], 0, -1)) do
      local spec = redis.call('HGET', ARGV[4] .. id, 'spec')
      if spec and string.find(spec, quoted, 1, true) then return -3 end
    end
  end
end
local size = tonumber(h[2] or '0') or 0
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if size ~= 0 then redis.call('HINCRBY', KEYS[3], 'datasets', -size) end
return size
