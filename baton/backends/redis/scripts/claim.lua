-- claim(worker, n, lease_for, queue...) -> {each leased job's JOB_FIELDS values}
-- Recovers lapsed leases first (the owner is presumed dead: a crash is counted against the
-- step it ran), ends queued jobs that must not start (expired, past their deadline), then
-- leases the best due jobs: highest priority, then oldest.
local worker, n, lease_for = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local queues = {}
for i = 5, #ARGV do queues[#queues + 1] = ARGV[i] end
local now = now_s()
local claimed = {}

local function recover(id)
  local j = hmget(jk(id), 'current_step', 'pipeline', 'crash_step', 'crash_count',
    'lease_owner', 'deadline_at', 'max_crashes', 'timeout')
  local step = j.current_step or j.pipeline
  local crashes = 1
  if step == (j.crash_step or '') then crashes = num(j.crash_count, 0) + 1 end
  emit(id, now, 'job.released',
    cjson.encode({reason = 'lease expired', worker = j.lease_owner, step = step}))
  if j.deadline_at and tonumber(j.deadline_at) < now then
    end_job(id, now, 'failed', deadline_error(j.timeout))
    return
  end
  local max_crashes = num(j.max_crashes, 3)
  if crashes >= max_crashes then
    local message = 'worker lost ' .. crashes .. ' times while running step ' .. step
      .. ' (max_crashes=' .. max_crashes .. ')'
    end_job(id, now, 'failed', cjson.encode({type = 'WorkerLost', step = step, message = message}))
    return
  end
  claimed[#claimed + 1] = take(id, worker, lease_for, now, step, crashes)
end

for _, q in ipairs(queues) do
  local room = n - #claimed
  if room <= 0 then break end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'leases:' .. q, '-inf', '(' .. fmt(now),
                                 'LIMIT', 0, room)) do
    recover(id)
  end
end

for _, q in ipairs(queues) do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'expiring:' .. q, '-inf', '(' .. fmt(now),
                                 'LIMIT', 0, 100)) do
    end_job(id, now, 'expired', '{"type": "Expired", "message": "not started before it expired"}')
  end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'deadlines:' .. q, '-inf', '(' .. fmt(now),
                                 'LIMIT', 0, 100)) do
    end_job(id, now, 'failed', deadline_error(redis.call('HGET', jk(id), 'timeout')))
  end
  -- promote delayed jobs that came due
  local dk = P .. 'delayed:' .. q
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', dk, '-inf', fmt(now), 'LIMIT', 0, 1000)) do
    local j = hmget(jk(id), 'run_at', 'priority')
    redis.call('ZREM', dk, id)
    to_ready(id, q, tonumber(j.run_at), num(j.priority, 0))
  end
end

local room = n - #claimed
if room > 0 then
  local found = {}
  for _, q in ipairs(queues) do
    local r = redis.call('ZRANGE', P .. 'ready:' .. q, 0, room - 1, 'WITHSCORES')
    for i = 1, #r, 2 do found[#found + 1] = {tonumber(r[i + 1]), r[i]} end
  end
  if #queues > 1 then
    table.sort(found, function(a, b)
      if a[1] ~= b[1] then return a[1] < b[1] end
      return a[2] < b[2]
    end)
  end
  for i = 1, math.min(room, #found) do
    local m = found[i][2]
    claimed[#claimed + 1] = take(string.sub(m, 18), worker, lease_for, now, nil, nil, m)
  end
end
flush_wakes()
return claimed
