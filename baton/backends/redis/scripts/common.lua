-- Shared by every script: prepended to each one at load time, so each transition is still
-- one script (one atomic step on the server). ARGV[1] is the key prefix; KEYS[1] a key of
-- the prefix (so a cluster routes the call to the prefix's slot, see docs/guides/redis.md).
-- Every script validates before its first write: Redis does not roll a script back.
local P = ARGV[1]
local TERMINAL = {succeeded = true, failed = true, cancelled = true, expired = true}
local wakes = {}

local function now_s()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function fmt(x) return string.format('%.6f', x) end
local function jk(id) return P .. 'job:' .. id end

local function hmget(key, ...)
  local names = {...}
  local vals = redis.call('HMGET', key, ...)
  local out = {}
  for i, name in ipairs(names) do
    if vals[i] then out[name] = vals[i] end
  end
  return out
end

local function num(s, default)
  if not s or s == '' then return default end
  return tonumber(s)
end

local function wake(queue) wakes[queue] = true end

local function flush_wakes()
  for q in pairs(wakes) do redis.call('PUBLISH', P .. 'wake:' .. q, '1') end
end

-- Append one event to a job's log: a list whose n-th entry is event n, "type\tat\tdata"
-- (a list, not a stream: a stream per job costs some 4 KB even when it holds three entries).
local function emit(id, now, typ, data)
  return redis.call('RPUSH', P .. 'ev:' .. id, typ .. '\t' .. fmt(now) .. '\t' .. data)
end

-- type, message and step of an error JSON, for event data.
local function brief(err)
  local ok, e = pcall(cjson.decode, err)
  if not ok or type(e) ~= 'table' then return {message = string.sub(err, 1, 500)} end
  return {type = e.type, message = e.message, step = e.step}
end

-- Move a job between statuses, keeping the per-queue counts (all tenants, and per tenant
-- as "<status>\0<tenant>") and the status index.
local function set_status(id, queue, old, new, tenant)
  local k = jk(id)
  tenant = tenant or redis.call('HGET', k, 'tenant')
  redis.call('HSET', k, 'status', new)
  local sk = P .. 'stats:' .. queue
  if old then
    redis.call('HINCRBY', sk, old, -1)
    redis.call('HINCRBY', sk, old .. '\0' .. tenant, -1)
    redis.call('ZREM', P .. 'idx:status:' .. old, id)
  end
  redis.call('HINCRBY', sk, new, 1)
  redis.call('HINCRBY', sk, new .. '\0' .. tenant, 1)
  redis.call('ZADD', P .. 'idx:status:' .. new, 0, id)
end

-- A queued job goes to its queue's ready set (priority, then run_at, then id) when due,
-- else to the delayed set by run_at; claims promote delayed jobs as they come due.
local function ready_member(run_at, id) return string.format('%017.6f', run_at) .. id end

local function to_ready(id, queue, run_at, priority)
  local m = ready_member(run_at, id)
  redis.call('HSET', jk(id), 'rkey', m)
  redis.call('ZADD', P .. 'ready:' .. queue, -priority, m)
end

local function place(id, queue, run_at, priority, now)
  if run_at <= now then
    to_ready(id, queue, run_at, priority)
  else
    redis.call('ZADD', P .. 'delayed:' .. queue, run_at, id)
  end
  wake(queue)
end

-- Take a queued job out of every set a queued job may be in (`m`: its ready member, if known).
local function unplace(id, queue, m)
  m = m or redis.call('HGET', jk(id), 'rkey')
  if m then
    redis.call('ZREM', P .. 'ready:' .. queue, m)
    redis.call('HDEL', jk(id), 'rkey')
  end
  redis.call('ZREM', P .. 'delayed:' .. queue, id)
  redis.call('ZREM', P .. 'expiring:' .. queue, id)
  redis.call('ZREM', P .. 'deadlines:' .. queue, id)
end

local function kid_member(key, index, id)
  return key .. '\0' .. string.format('%010d', index or 0) .. '\0' .. id
end

local function kid_id(member) return string.match(member, '([^%z]+)$') end

-- The job's fields a fenced write needs, or nil when `token` is not its running lease's.
local function fenced(id, token)
  local j = hmget(jk(id), 'status', 'lease_token', 'lease_owner', 'queue', 'tenant', 'priority',
                  'parent_id', 'callback_url')
  if j.status == 'running' and tonumber(j.lease_token) == token then return j end
  return nil
end

-- Store one new job (a decoded NewJob): returns its id and true, or the id of the job
-- already stored under its (tenant, idempotency key) and false.
local function insert(job, now)
  local id, tenant, queue = job.id, job.tenant, job.queue
  local idem = job.idempotency_key
  if idem then
    local existing = redis.call('HGET', P .. 'idem:' .. tenant, idem)
    if existing then return existing, false end
  end
  if redis.call('EXISTS', jk(id)) == 1 then return id, false end
  local k = jk(id)
  local run_at = now + math.max(0, job.delay or 0)
  redis.call('HSET', k, 'id', id, 'pipeline', job.pipeline, 'queue', queue, 'tenant', tenant,
    'args', job.args, 'priority', job.priority or 0, 'run_at', fmt(run_at), 'attempts', 0,
    'created_at', fmt(now), 'max_crashes', job.max_crashes or 3, 'lease_token', 0,
    'crash_count', 0, 'progress', 0, 'woken', 0, 'waiting_for', 0)
  for _, f in ipairs({'idempotency_key', 'parent_id', 'parent_key', 'parent_index',
                      'callback_url', 'timeout'}) do
    if job[f] then redis.call('HSET', k, f, job[f]) end
  end
  if idem then redis.call('HSET', P .. 'idem:' .. tenant, idem, id) end
  set_status(id, queue, nil, 'queued', tenant)
  redis.call('SADD', P .. 'queues', queue)
  redis.call('ZADD', P .. 'jobs', 0, id)
  redis.call('ZADD', P .. 'idx:tenant:' .. tenant, 0, id)
  redis.call('ZADD', P .. 'idx:queue:' .. queue, 0, id)
  redis.call('ZADD', P .. 'idx:pipeline:' .. job.pipeline, 0, id)
  if job.parent_id then
    redis.call('ZADD', P .. 'kids:' .. job.parent_id, 0,
      kid_member(job.parent_key or '', job.parent_index, id))
  end
  place(id, queue, run_at, job.priority or 0, now)
  if job.expires_in then
    local exp = now + job.expires_in
    redis.call('HSET', k, 'expires_at', fmt(exp))
    redis.call('ZADD', P .. 'expiring:' .. queue, exp, id)
  end
  emit(id, now, 'job.enqueued', cjson.encode({pipeline = job.pipeline, queue = queue}))
  return id, true
end
