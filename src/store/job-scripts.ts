// The Lua scripts behind job creation, status transitions and per-epoch records: each changes
// the record, the indexes and the job's stream in one atomic step.

/** Entries the webhook outbox keeps (`XADD … MAXLEN ~`): events older than that are dropped undelivered. */
export const OUTBOX_MAXLEN = 100_000;

/**
 * The webhook outbox, in the same step as the change it reports: when the job's tenant has a webhook,
 * one entry on the global events stream with the event type, its time and the record as it is now
 * (HGETALL pairs as JSON). workers/webhook-dispatcher.ts turns entries into deliveries.
 */
const OUTBOX = `
local function outbox(jobKey, tenantWebhooks, events, etype, at)
  if redis.call('EXISTS', tenantWebhooks) == 0 then return end
  redis.call('XADD', events, 'MAXLEN', '~', '${OUTBOX_MAXLEN}', '*', 'type', etype, 'at', at, 'job', cjson.encode(redis.call('HGETALL', jobKey)))
end
`;

/**
 * KEYS: job hash, tenant's job index, tenant's queued index, job stream, idempotency key, tenant's
 * webhook index, webhook outbox stream.
 * ARGV: jobId, bodyHash, queued limit, idempotency TTL, stream MAXLEN, first status event JSON,
 * '1' when an Idempotency-Key was given, then the record's field/value pairs.
 * Returns {'exists', 'jobId bodyHash'} | {'limit', ''} | {'created', jobId}.
 */
export const CREATE_JOB = `${OUTBOX}
if ARGV[7] == '1' then
  local v = redis.call('GET', KEYS[5])
  if v then return {'exists', v} end
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {'limit', ''} end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'type', 'status', 'data', ARGV[6])
if ARGV[7] == '1' then redis.call('SET', KEYS[5], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[4]) end
outbox(KEYS[1], KEYS[6], KEYS[7], 'job.queued', redis.call('HGET', KEYS[1], 'createdAt'))
return {'created', ARGV[1]}
`;

/**
 * KEYS: job hash, job stream, checkpoint index, cancel flag (the last three expire with the job),
 * webhook outbox stream.
 * ARGV: new status, history entry JSON, allowed from-statuses (comma list, '' = any live one), now,
 * attempt, stream MAXLEN, retention seconds, status-index key prefix ('<p>:tenant:'), jobId,
 * status event JSON, then extra field/value pairs for the hash.
 * Returns {'ok', streamId} | {'missing'|'terminal'|'refused'|'same', current status}.
 */
export const TRANSITION = `${OUTBOX}
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
`;

/**
 * KEYS: job hash, job stream. ARGV: attempt, epoch, metrics JSON, progress JSON, stream MAXLEN,
 * now, best metrics JSON or ''. Field `lastMetrics` = 'attempt:epoch' drops repeats: an epoch at or
 * before the last recorded one is a duplicate whatever the attempt. A trainer records an epoch
 * before it writes that epoch's resume state, so a restarted attempt resumes at most one epoch
 * behind what clients have seen; that epoch's second run is bit-identical and is not recorded again.
 * Returns {'ok', streamId} | {'missing'|'terminal'|'duplicate'|'superseded', …}.
 */
export const RECORD_EPOCH = `
local st = redis.call('HMGET', KEYS[1], 'status', 'lastMetrics', 'attempt')
if not st[1] then return {'missing', ''} end
if st[1] == 'completed' or st[1] == 'failed' or st[1] == 'cancelled' then return {'terminal', st[1]} end
-- The record's attempt is a fencing token: a trainer whose job a later attempt took over writes nothing.
if st[3] and tonumber(st[3]) and tonumber(st[3]) > tonumber(ARGV[1]) then return {'superseded', st[3]} end
if st[2] then
  local a, e = string.match(st[2], '^(%d+):(%d+)$')
  if a and tonumber(ARGV[2]) <= tonumber(e) then return {'duplicate', ''} end
end
local sid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'metrics', 'data', ARGV[3])
redis.call('HSET', KEYS[1], 'latest', ARGV[3], 'progress', ARGV[4], 'lastMetrics', ARGV[1] .. ':' .. ARGV[2], 'updatedAt', ARGV[6])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'best', ARGV[7]) end
return {'ok', sid}
`;

/**
 * KEYS: job hash, webhook outbox stream. ARGV: best metrics JSON, now, tenant webhook index key.
 * Sets the job's best metrics record; when its epoch differs from the previous best's, that is a
 * new best checkpoint and the outbox gets a job.checkpoint event. Returns 0 when the job is gone.
 */
export const SET_BEST = `${OUTBOX}
local prev = redis.call('HMGET', KEYS[1], 'tenant', 'best')
if not prev[1] then return 0 end
redis.call('HSET', KEYS[1], 'best', ARGV[1])
local was = nil
if prev[2] and prev[2] ~= '' then was = cjson.decode(prev[2])['epoch'] end
if was ~= cjson.decode(ARGV[1])['epoch'] then outbox(KEYS[1], ARGV[3], KEYS[2], 'job.checkpoint', ARGV[2]) end
return 1
`;

// HSET only on a record that still exists: an expired job must not come back as a fragment.
export const HSET_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;
