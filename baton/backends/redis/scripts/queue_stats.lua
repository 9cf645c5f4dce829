-- queue_stats(tenant|'') -> {now, then per queue: queue, queued, running, waiting, failed,
--   succeeded, cancelled, expired, oldest due run_at|''}
local tenant = ARGV[2]
local STATUSES = {'queued', 'running', 'waiting', 'failed', 'succeeded', 'cancelled', 'expired'}
local SCAN = 10000  -- a tenant's oldest due job is looked for among this many
local now = now_s()
local out = {fmt(now)}

local function mine(id)
  return tenant == '' or redis.call('HGET', jk(id), 'tenant') == tenant
end

-- The oldest due job: for all tenants, the first member of each priority level of the
-- ready set (members start with their run_at); for one tenant, its first members. Then
-- the first delayed job that is due already.
local function oldest_due(q)
  local oldest = nil
  local function consider(t) if oldest == nil or t < oldest then oldest = t end end
  local rk = P .. 'ready:' .. q
  if tenant == '' then
    local level = redis.call('ZRANGE', rk, 0, 0, 'WITHSCORES')
    while level[1] do
      consider(tonumber(string.sub(level[1], 1, 17)))
      level = redis.call('ZRANGEBYSCORE', rk, '(' .. level[2], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    end
  else
    for _, m in ipairs(redis.call('ZRANGE', rk, 0, SCAN - 1)) do
      if mine(string.sub(m, 18)) then consider(tonumber(string.sub(m, 1, 17))) end
    end
  end
  local due = redis.call('ZRANGEBYSCORE', P .. 'delayed:' .. q, '-inf', fmt(now), 'WITHSCORES',
                         'LIMIT', 0, SCAN)
  for i = 1, #due, 2 do
    if mine(due[i]) then
      consider(tonumber(due[i + 1]))
      break
    end
  end
  return oldest
end

local queues = redis.call('SMEMBERS', P .. 'queues')
table.sort(queues)
for _, q in ipairs(queues) do
  local fields = {}
  for i, s in ipairs(STATUSES) do
    fields[i] = s
    if tenant ~= '' then fields[i] = s .. '\0' .. tenant end
  end
  local counts = redis.call('HMGET', P .. 'stats:' .. q, unpack(fields))
  local row, any = {q}, false
  for i = 1, #STATUSES do
    local c = tonumber(counts[i] or '0')
    if c > 0 then any = true end
    row[#row + 1] = c
  end
  if any then
    local oldest = oldest_due(q)
    row[#row + 1] = oldest and fmt(oldest) or ''
    for _, v in ipairs(row) do out[#out + 1] = v end
  end
end
return out
