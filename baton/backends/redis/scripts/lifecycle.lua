-- Transitions shared by several scripts: ending a job (with its parent's wake-up and its
-- callback delivery), queueing a leased job again, leasing, and saving a step.

local function delivery_id(job_id, seq)
  -- baton.backends.callbacks.delivery_id: the job's 48-bit timestamp, version 7, then
  -- bits of sha256("<job id>:<seq>").
  local hex = string.gsub(job_id, '-', '')
  local d = sha256_hex(job_id .. ':' .. seq)
  local variant = bit.tohex(bit.bor(bit.band(tonumber(string.sub(d, 5, 5), 16), 3), 8), 1)
  local v = string.sub(hex, 1, 12) .. '7' .. string.sub(d, 1, 3) .. variant .. string.sub(d, 6, 20)
  return string.sub(v, 1, 8) .. '-' .. string.sub(v, 9, 12) .. '-' .. string.sub(v, 13, 16)
    .. '-' .. string.sub(v, 17, 20) .. '-' .. string.sub(v, 21, 32)
end

-- The callback outbox: a job with a callback_url that ends gets its delivery job (as
-- baton.backends.callbacks.callback_job makes it) in the same script as its ending.
local function outbox(id, seq, j, now)
  if not j.callback_url or j.callback_url == '' then return end
  insert({
    id = delivery_id(id, seq), pipeline = 'baton.callback', queue = j.queue,
    tenant = j.tenant, priority = num(j.priority, 0), max_crashes = 3,
    args = '{"job_id": "' .. id .. '", "seq": ' .. seq .. '}',
    idempotency_key = 'baton.callback:' .. id .. ':' .. seq,
  }, now)
end

local function wake_parent(pid, now)
  local pk = jk(pid)
  local p = hmget(pk, 'status', 'waiting_for', 'queue', 'priority')
  if p.status ~= 'waiting' then return end
  local left = num(p.waiting_for, 0)
  redis.call('HSET', pk, 'waiting_for', left - 1)
  if left <= 1 then
    set_status(pid, p.queue, 'waiting', 'queued')
    redis.call('HSET', pk, 'run_at', fmt(now), 'woken', 1)
    place(pid, p.queue, now, num(p.priority, 0), now)
  end
end

-- End a job as `status` (terminal), from any state; `err`/`result` are JSON or nil. `j`
-- holds its fields when the caller read them already (a fenced settle).
local function end_job(id, now, status, err, result, leased, j)
  local k = jk(id)
  j = j or hmget(k, 'status', 'queue', 'tenant', 'priority', 'parent_id', 'callback_url')
  set_status(id, j.queue, j.status, status, j.tenant)
  if j.status == 'queued' then unplace(id, j.queue) end
  if j.status == 'running' then redis.call('ZREM', P .. 'leases:' .. j.queue, id) end
  local fields = {'finished_at', fmt(now)}
  if err then fields[#fields + 1] = 'error'; fields[#fields + 1] = err end
  if result then fields[#fields + 1] = 'result'; fields[#fields + 1] = result end
  if status == 'succeeded' then fields[#fields + 1] = 'progress'; fields[#fields + 1] = 1 end
  redis.call('HSET', k, unpack(fields))
  if leased then
    redis.call('HDEL', k, 'lease_owner', 'lease_expires', 'current_step')
  else
    redis.call('HDEL', k, 'lease_owner', 'lease_expires')
  end
  local data = '{}'
  if err then data = cjson.encode({error = brief(err)}) end
  local seq = emit(id, now, 'job.' .. status, data)
  outbox(id, seq, j, now)
  if j.parent_id then
    wake_parent(j.parent_id, now)
  else
    redis.call('ZADD', P .. 'ended', now, id)  -- retention: roots are purged with their tree
  end
end

local function deadline_error(timeout)
  return '{"type": "DeadlineExceeded", "message": "job deadline of ' .. (timeout or '?')
    .. 's exceeded"}'
end

-- A leased job goes back to `status` (queued or waiting), its lease ended.
local function requeue(id, status, run_at, woken, waiting_for, now)
  local k = jk(id)
  local j = hmget(k, 'queue', 'priority', 'deadline_at', 'tenant')
  set_status(id, j.queue, 'running', status, j.tenant)
  redis.call('ZREM', P .. 'leases:' .. j.queue, id)
  redis.call('HSET', k, 'run_at', fmt(run_at), 'woken', woken, 'waiting_for', waiting_for)
  redis.call('HDEL', k, 'lease_owner', 'lease_expires', 'current_step')
  if status == 'queued' then
    place(id, j.queue, run_at, num(j.priority, 0), now)
    if j.deadline_at then
      redis.call('ZADD', P .. 'deadlines:' .. j.queue, tonumber(j.deadline_at), id)
    end
  end
end

-- Lease a job to `worker`: bump the fencing token, count an attempt unless it was woken.
-- `m` is its ready member when it was found in the ready set.
local function take(id, worker, lease_for, now, crash_step, crash_count, m)
  local k = jk(id)
  local j = hmget(k, 'status', 'queue', 'tenant', 'woken', 'started_at', 'deadline_at', 'timeout',
                  'lease_token', 'attempts', 'expires_at')
  if m then  -- straight from the ready set: only the sets it may also be in
    redis.call('ZREM', P .. 'ready:' .. j.queue, m)
    redis.call('HDEL', k, 'rkey')
    if j.expires_at then redis.call('ZREM', P .. 'expiring:' .. j.queue, id) end
    if j.deadline_at then redis.call('ZREM', P .. 'deadlines:' .. j.queue, id) end
  elseif j.status == 'queued' then
    unplace(id, j.queue)
  end
  if j.status ~= 'running' then set_status(id, j.queue, j.status, 'running', j.tenant) end
  local attempts = num(j.attempts, 0) + 1 - num(j.woken, 0)
  local expires = now + lease_for
  local fields = {'lease_token', num(j.lease_token, 0) + 1, 'attempts', attempts,
                  'lease_owner', worker, 'lease_expires', fmt(expires), 'woken', 0}
  local function set(name, value) fields[#fields + 1] = name; fields[#fields + 1] = value end
  if not j.started_at then set('started_at', fmt(now)) end
  if not j.deadline_at and j.timeout then set('deadline_at', fmt(now + tonumber(j.timeout))) end
  if crash_step then set('crash_step', crash_step); set('crash_count', crash_count) end
  redis.call('HSET', k, unpack(fields))
  redis.call('ZADD', P .. 'leases:' .. j.queue, expires, id)
  emit(id, now, 'job.claimed', cjson.encode({worker = worker, attempt = attempts}))
  return redis.call('HMGET', k, unpack(JOB_FIELDS))
end

local STEP_EVENT = {succeeded = 'step.succeeded', retrying = 'step.retrying'}

-- Upsert a step record (callers fence) and log its event; a succeeded one is never
-- overwritten (then nothing is written or logged).
local function save_step(id, owner, rec, now)
  local sk = P .. 'steps:' .. id
  local started = rec.started_at
  local old = redis.call('HGET', sk, rec.key)
  if old then
    local o = cjson.decode(old)
    if o.status == 'succeeded' then return end
    if o.started_at then started = o.started_at end
  end
  redis.call('HSET', sk, rec.key, cjson.encode({
    key = rec.key, status = rec.status, result = rec.result, error = rec.error,
    attempts = rec.attempts or 0, worker = rec.worker or owner, started_at = started,
    finished_at = rec.finished_at or now,
  }))
  local data = {step = rec.key, attempt = rec.attempts or 0}
  if rec.error then data.error = brief(rec.error) end
  if rec.started_at then data.duration = math.floor((now - rec.started_at) * 1e6 + 0.5) / 1e6 end
  emit(id, now, STEP_EVENT[rec.status] or 'step.failed', cjson.encode(data))
end
