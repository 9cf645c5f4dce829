-- cancel(job_id, tenant|'') -> HGETALL of the job afterwards, or {} if unknown/foreign
-- Ends a queued, waiting or running job and its unfinished descendants as cancelled.
local id, tenant = ARGV[2], ARGV[3]
local j = hmget(jk(id), 'status', 'tenant')
if not j.status or (tenant ~= '' and j.tenant ~= tenant) then return {} end
if not TERMINAL[j.status] then
  local now = now_s()
  local todo = {id}
  local err = '{"type": "Cancelled", "message": "cancelled"}'
  while #todo > 0 do
    local jid = table.remove(todo)
    for _, m in ipairs(redis.call('ZRANGE', P .. 'kids:' .. jid, 0, -1)) do
      local kid = kid_id(m)
      local st = redis.call('HGET', jk(kid), 'status')
      if st == 'queued' or st == 'running' or st == 'waiting' then todo[#todo + 1] = kid end
    end
    end_job(jid, now, 'cancelled', err)
  end
  flush_wakes()
end
return redis.call('HGETALL', jk(id))
