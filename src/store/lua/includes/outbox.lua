-- The webhook outbox, in the same step as the change it reports: when the job's tenant has a webhook,
-- one entry on the global events stream with the event type, its time and the record as it is now
-- (HGETALL pairs as JSON). workers/webhook-dispatcher.ts turns entries into deliveries.
-- Entries the outbox keeps (XADD MAXLEN ~): older events are dropped undelivered. The same number
-- is OUTBOX_MAXLEN in src/store/scripts.ts (a test checks).
local OUTBOX_MAXLEN = 100000

local function outbox(jobKey, tenantWebhooks, events, etype, at)
  if redis.call('EXISTS', tenantWebhooks) == 0 then return end
  redis.call('XADD', events, 'MAXLEN', '~', OUTBOX_MAXLEN, '*', 'type', etype, 'at', at, 'job', cjson.encode(redis.call('HGETALL', jobKey)))
end
