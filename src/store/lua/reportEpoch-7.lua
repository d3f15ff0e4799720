-- One epoch of a trial reported: its best objective and a trial_reported event (once per epoch),
-- then, with ASHA at a rung epoch, the decision. Rungs are at ceil(gracePeriod·reductionFactor^i)
-- epochs below the trial's epochs. A trial continues past a rung only when its objective is not
-- below the (1 − 1/reductionFactor) quantile (linear interpolation, as numpy) of the objectives
-- recorded at that rung before it: Li et al. 2020, Ray Tune's ASHAScheduler. Decisions are
-- numbered in the order they are made and kept, so a repeated report gets the same answer, and a
-- pruned trial gets 'prune' for any later epoch.
-- KEYS: sweep hash, objective hash, decisions hash, decision log, pruned set, sweep stream, rungs hash.
-- ARGV: k, job id, epoch, objective value ('' when missing or not finite), sign (1 max, -1 min),
-- '1' ASHA | '0' none, gracePeriod, reductionFactor, the trial's epochs, now, stream MAXLEN.
-- Returns 'continue' | 'prune' | 'missing'.
--- @include "includes/sweepEvent"

local k = ARGV[1]
local epoch = tonumber(ARGV[3])
local maxlen = ARGV[11]
if not redis.call('HGET', KEYS[1], 'status') then return 'missing' end
if redis.call('SISMEMBER', KEYS[5], k) == 1 then return 'prune' end
local value = tonumber(ARGV[4])
local sign = tonumber(ARGV[5])
local prev = redis.call('HGET', KEYS[2], k)
local o = nil
if prev then o = cjson.decode(prev) end
if (not o) or epoch > o.last then
  local best, bestEpoch = cjson.null, cjson.null
  if o then best, bestEpoch = o.value, o.epoch end
  if value and (best == cjson.null or sign * value > sign * best) then best, bestEpoch = value, epoch end
  redis.call('HSET', KEYS[2], k, cjson.encode({value = best, epoch = bestEpoch, last = epoch}))
  event(KEYS[6], maxlen, 'trial_reported', cjson.encode({trial = tonumber(k), jobId = ARGV[2], epoch = epoch, value = value or cjson.null}))
end
if ARGV[6] ~= '1' then return 'continue' end
local gp, rf, maxT = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local isRung = false
local i = 0
while true do
  local m = math.ceil(gp * rf ^ i - 1e-9)
  if m >= maxT or m > epoch then break end
  if m == epoch then isRung = true break end
  i = i + 1
end
if not isRung then return 'continue' end
local dkey = k .. ':' .. epoch
local prior = redis.call('HGET', KEYS[3], dkey)
if prior then return prior end
local raw = redis.call('HGET', KEYS[7], tostring(epoch))
local recorded = {}
if raw then recorded = cjson.decode(raw) end
local n = #recorded
local decision = 'continue'
local cutoff = cjson.null
if value == nil then
  -- No objective (a missing metric, NaN): worse than any trial that has one.
  if n > 0 then decision = 'prune' end
else
  local score = sign * value
  if n > 0 then
    local sorted = {}
    for j = 1, n do sorted[j] = recorded[j] end
    table.sort(sorted)
    local q = (1 - 1 / rf) * (n - 1)
    local lo = math.floor(q)
    local a = sorted[lo + 1]
    local b = sorted[math.min(lo + 2, n)]
    local c = a + (b - a) * (q - lo)
    cutoff = sign * c
    if score < c then decision = 'prune' end
  end
  table.insert(recorded, score)
  redis.call('HSET', KEYS[7], tostring(epoch), cjson.encode(recorded))
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local entry = cjson.encode({seq = seq, trial = tonumber(k), jobId = ARGV[2], rung = epoch, value = value or cjson.null, cutoff = cutoff, among = n, decision = decision, at = ARGV[10]})
redis.call('RPUSH', KEYS[4], entry)
redis.call('HSET', KEYS[3], dkey, decision)
if decision == 'prune' then
  redis.call('SADD', KEYS[5], k)
  event(KEYS[6], maxlen, 'trial_pruned', entry)
end
return decision
