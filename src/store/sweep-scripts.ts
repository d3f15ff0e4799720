// The Lua scripts behind a sweep's decisions: launching a trial, finishing one, an ASHA decision
// on an epoch report, and finishing the sweep. Each is one atomic step that checks the sweep's
// state first, so any number of API and worker processes may run them for the same sweep, and
// a repeated call (a process that died before it heard the answer) changes nothing twice.

/** Appends an event to the sweep's stream: XADD key MAXLEN ~ n * type t data json. */
const EVENT = `
local function event(stream, maxlen, etype, data)
  return redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'type', etype, 'data', data)
end
`;

/**
 * KEYS: sweep hash, tenant's sweep index, active sweeps set, sweep stream.
 * ARGV: sweep id, then the hash's field/value pairs. Returns 1.
 */
export const CREATE_SWEEP = `
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
`;

/**
 * Launches trial k when it is the next one, the sweep still runs, it has trials left and (for a
 * runnable trial) fewer than `parallelism` live ones. A trial whose spec cannot run is recorded
 * finished ('invalid') at once and takes no slot.
 * KEYS: sweep hash, trials hash, live set, done hash, sweep stream.
 * ARGV: k, trial JSON, '1' runnable | '0' invalid, now, done JSON (invalid), event JSON, stream MAXLEN.
 * Returns 'ok' | 'race' (another process launched k) | 'busy' | 'full' | 'stopped' | 'missing'.
 */
export const CLAIM_TRIAL = `${EVENT}
local st = redis.call('HMGET', KEYS[1], 'status', 'next', 'maxTrials', 'parallelism')
if not st[1] then return 'missing' end
if st[1] ~= 'running' then return 'stopped' end
local nxt = tonumber(st[2])
if nxt ~= tonumber(ARGV[1]) then return 'race' end
if nxt >= tonumber(st[3]) then return 'full' end
if ARGV[3] == '1' and redis.call('SCARD', KEYS[3]) >= tonumber(st[4]) then return 'busy' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], 'next', nxt + 1, 'updatedAt', ARGV[4])
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[3], ARGV[1])
  event(KEYS[5], ARGV[7], 'trial_started', ARGV[6])
else
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
  redis.call('HINCRBY', KEYS[1], 'n:invalid', 1)
  event(KEYS[5], ARGV[7], 'trial_finished', ARGV[6])
end
return 'ok'
`;

/**
 * Records a live trial as finished (once: a repeat returns 0).
 * KEYS: sweep hash, live set, done hash, sweep stream.
 * ARGV: k, outcome (completed | pruned | failed | cancelled), done JSON, now, event JSON, stream MAXLEN.
 */
export const FINISH_TRIAL = `${EVENT}
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[2], 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
event(KEYS[4], ARGV[6], 'trial_finished', ARGV[5])
return 1
`;

/**
 * Stops launching trials (POST /v1/sweeps/:id/cancel). KEYS: sweep hash. ARGV: now.
 * Returns 'ok', or the status the sweep already has.
 */
export const CANCEL_SWEEP = `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 'missing' end
if st ~= 'running' then return st end
redis.call('HSET', KEYS[1], 'status', 'cancelling', 'reason', 'cancelled_by_user', 'updatedAt', ARGV[1])
return 'ok'
`;

/**
 * Ends the sweep once nothing is live and nothing is left to launch (or it is being cancelled):
 * completed | cancelled, the sweep_finished event, out of the active set, and the retention clock
 * on every key. KEYS: sweep hash, live set, active set, sweep stream, then the keys to expire.
 * ARGV: sweep id, now, retention seconds, stream MAXLEN.
 * Returns the new status | 'live' | 'pending' | 'already' | 'missing'.
 */
export const FINISH_SWEEP = `${EVENT}
local st = redis.call('HMGET', KEYS[1], 'status', 'next', 'maxTrials')
if not st[1] then return 'missing' end
if st[1] == 'completed' or st[1] == 'cancelled' then return 'already' end
if redis.call('SCARD', KEYS[2]) > 0 then return 'live' end
local status
if st[1] == 'cancelling' then status = 'cancelled'
elseif tonumber(st[2]) >= tonumber(st[3]) then status = 'completed'
else return 'pending' end
redis.call('HSET', KEYS[1], 'status', status, 'finishedAt', ARGV[2], 'updatedAt', ARGV[2])
redis.call('SREM', KEYS[3], ARGV[1])
event(KEYS[4], ARGV[4], 'sweep_finished', cjson.encode({status = status, at = ARGV[2]}))
if tonumber(ARGV[3]) > 0 then
  for i = 1, #KEYS do
    if i ~= 3 then redis.call('EXPIRE', KEYS[i], ARGV[3]) end
  end
end
return status
`;

/**
 * One epoch of a trial reported: its best objective and a trial_reported event (once per epoch),
 * then, with ASHA at a rung epoch, the decision. Rungs are at ceil(gracePeriod·reductionFactor^i)
 * epochs below the trial's epochs. A trial continues past a rung only when its objective is not
 * below the (1 − 1/reductionFactor) quantile (linear interpolation, as numpy) of the objectives
 * recorded at that rung before it: Li et al. 2020, Ray Tune's ASHAScheduler. Decisions are
 * numbered in the order they are made and kept, so a repeated report gets the same answer, and a
 * pruned trial gets 'prune' for any later epoch.
 * KEYS: sweep hash, objective hash, decisions hash, decision log, pruned set, sweep stream, rungs hash.
 * ARGV: k, job id, epoch, objective value ('' when missing or not finite), sign (1 max, -1 min),
 * '1' ASHA | '0' none, gracePeriod, reductionFactor, the trial's epochs, now, stream MAXLEN.
 * Returns 'continue' | 'prune' | 'missing'.
 */
export const REPORT_EPOCH = `${EVENT}
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
`;
