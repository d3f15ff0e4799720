-- The tenant's stored bytes (datasets and checkpoints) from its usage hash.
local function usedBytes(usageKey)
  return tonumber(redis.call('HGET', usageKey, 'datasets') or '0') + tonumber(redis.call('HGET', usageKey, 'checkpoints') or '0')
end
