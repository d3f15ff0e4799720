-- Appends an event to the sweep's stream: XADD key MAXLEN ~ n * type t data json.
local function event(stream, maxlen, etype, data)
  return redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'type', etype, 'data', data)
end
