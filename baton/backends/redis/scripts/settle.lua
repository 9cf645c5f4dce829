-- settle(job_id, token, mode, step JSON|'', payload, number) -> 1, or 0 when the lease is stale
-- mode: succeeded (payload = result) | failed (payload = error) | retry (number = delay)
--       | park (payload = {key, children}) | sleep (payload = step key, number = seconds)
--       | release
local id, token, mode = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local step_json, payload, n = ARGV[5], ARGV[6], tonumber(ARGV[7])
local j = fenced(id, token)
if not j then return 0 end
local now = now_s()
local owner = j.lease_owner
if step_json ~= '' then save_step(id, owner, cjson.decode(step_json), now) end

if mode == 'succeeded' then
  end_job(id, now, 'succeeded', nil, payload, true, j)
elseif mode == 'failed' then
  end_job(id, now, 'failed', payload, nil, true, j)
elseif mode == 'retry' then
  requeue(id, 'queued', now + n, 0, 0, now)
  emit(id, now, 'job.released', cjson.encode({reason = 'retry', delay = n}))
elseif mode == 'park' then
  local park = cjson.decode(payload)
  for _, child in ipairs(park.children) do insert(child, now) end
  local open = 0
  local lo, hi = '[' .. park.key .. '\0', '(' .. park.key .. '\1'
  for _, m in ipairs(redis.call('ZRANGEBYLEX', P .. 'kids:' .. id, lo, hi)) do
    if not TERMINAL[redis.call('HGET', jk(kid_id(m)), 'status')] then open = open + 1 end
  end
  if open > 0 then
    requeue(id, 'waiting', now, 1, open, now)
  else
    requeue(id, 'queued', now, 1, 0, now)
  end
  emit(id, now, 'job.waiting', cjson.encode({children = #park.children, open = open}))
elseif mode == 'sleep' then
  local until_ = now + n
  save_step(id, owner, {key = payload, status = 'succeeded', result = fmt(until_), attempts = 1,
                        started_at = now}, now)
  requeue(id, 'queued', until_, 1, 0, now)
  emit(id, now, 'job.waiting', cjson.encode({['until'] = until_}))
elseif mode == 'release' then
  requeue(id, 'queued', now, 1, 0, now)
  emit(id, now, 'job.released', '{"reason": "shutdown"}')
end
flush_wakes()
return 1
