-- retry(job_id, tenant|'') -> HGETALL of the job afterwards, or {} if unknown/foreign
-- Queues a failed, cancelled or expired job again with its failed descendants, keeping
-- their succeeded steps and dropping the others; the crash budget starts afresh.
local id, tenant = ARGV[2], ARGV[3]
local RETRYABLE = {failed = true, cancelled = true, expired = true}
local j = hmget(jk(id), 'status', 'tenant')
if not j.status or (tenant ~= '' and j.tenant ~= tenant) then return {} end
if RETRYABLE[j.status] then
  local now = now_s()
  local todo = {id}
  while #todo > 0 do
    local jid = table.remove(todo)
    for _, m in ipairs(redis.call('ZRANGE', P .. 'kids:' .. jid, 0, -1)) do
      local kid = kid_id(m)
      if RETRYABLE[redis.call('HGET', jk(kid), 'status')] then todo[#todo + 1] = kid end
    end
    local k = jk(jid)
    local r = hmget(k, 'status', 'queue', 'priority', 'expires_at', 'started_at', 'parent_id')
    set_status(jid, r.queue, r.status, 'queued')
    redis.call('HSET', k, 'run_at', fmt(now), 'woken', 0, 'crash_count', 0)
    redis.call('HDEL', k, 'error', 'finished_at', 'crash_step', 'deadline_at', 'lease_owner',
               'lease_expires')
    redis.call('ZREM', P .. 'ended', jid)
    place(jid, r.queue, now, num(r.priority, 0), now)
    if r.expires_at and not r.started_at then
      redis.call('ZADD', P .. 'expiring:' .. r.queue, tonumber(r.expires_at), jid)
    end
    local sk = P .. 'steps:' .. jid
    local steps = redis.call('HGETALL', sk)
    for i = 1, #steps, 2 do
      if cjson.decode(steps[i + 1]).status ~= 'succeeded' then redis.call('HDEL', sk, steps[i]) end
    end
    emit(jid, now, 'job.enqueued', '{"retry": true}')
  end
  flush_wakes()
end
return redis.call('HGETALL', jk(id))
