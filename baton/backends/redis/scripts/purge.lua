-- purge(retention seconds, limit) -> jobs deleted
-- Retention: deletes root jobs that ended more than `retention` seconds ago with all their descendants (job,
-- steps, events, index entries, idempotency key), so memory does not grow without bound.
-- A tree with a descendant still unfinished is kept and looked at again later.
local now = now_s()
local cutoff, limit = now - tonumber(ARGV[2]), tonumber(ARGV[3])
local deleted = 0
local function tree(root)
  local ids, todo = {}, {root}
  while #todo > 0 do
    local id = table.remove(todo)
    ids[#ids + 1] = id
    for _, m in ipairs(redis.call('ZRANGE', P .. 'kids:' .. id, 0, -1)) do
      todo[#todo + 1] = kid_id(m)
    end
  end
  return ids
end
local function drop(id)
  local k = jk(id)
  local j = hmget(k, 'status', 'queue', 'tenant', 'pipeline', 'idempotency_key')
  if not j.status then return end
  redis.call('HINCRBY', P .. 'stats:' .. j.queue, j.status, -1)
  redis.call('HINCRBY', P .. 'stats:' .. j.queue, j.status .. '\0' .. j.tenant, -1)
  redis.call('ZREM', P .. 'idx:status:' .. j.status, id)
  redis.call('ZREM', P .. 'jobs', id)
  redis.call('ZREM', P .. 'idx:tenant:' .. j.tenant, id)
  redis.call('ZREM', P .. 'idx:queue:' .. j.queue, id)
  redis.call('ZREM', P .. 'idx:pipeline:' .. j.pipeline, id)
  if j.idempotency_key then
    local ik = P .. 'idem:' .. j.tenant
    if redis.call('HGET', ik, j.idempotency_key) == id then
      redis.call('HDEL', ik, j.idempotency_key)
    end
  end
  redis.call('DEL', k, P .. 'steps:' .. id, P .. 'ev:' .. id, P .. 'kids:' .. id)
  deleted = deleted + 1
end
for _, root in ipairs(redis.call('ZRANGEBYSCORE', P .. 'ended', '-inf', fmt(cutoff), 'LIMIT', 0, limit)) do
  local ids = tree(root)
  local done = true
  for _, id in ipairs(ids) do
    local st = redis.call('HGET', jk(id), 'status')
    if st and not TERMINAL[st] then done = false end
  end
  if done then
    for _, id in ipairs(ids) do drop(id) end
    redis.call('ZREM', P .. 'ended', root)
  else
    redis.call('ZADD', P .. 'ended', now, root)
  end
end
return deleted
