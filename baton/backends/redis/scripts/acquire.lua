-- acquire(job_id, token, kind, name, key, limit, per) -> 'ok' | 'lost' | seconds to wait
local id, token, kind, name = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local key, limit, per = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
if not fenced(id, token) then return 'lost' end
local now = now_s()

if kind == 'concurrency' then
  -- holders: job id -> lease token; a holder whose lease ended frees its slot here
  local pk = P .. 'permit:' .. name .. '\0' .. key
  if tonumber(redis.call('HGET', pk, id)) == token then return 'ok' end
  local holders = redis.call('HGETALL', pk)
  for i = 1, #holders, 2 do
    local h = hmget(jk(holders[i]), 'status', 'lease_token', 'lease_expires')
    if h.status ~= 'running' or h.lease_token ~= holders[i + 1]
       or num(h.lease_expires, 0) <= now then
      redis.call('HDEL', pk, holders[i])
    end
  end
  if redis.call('HLEN', pk) >= limit then return '0.05' end
  redis.call('HSET', pk, id, token)
  return 'ok'
end

local bk = P .. 'bucket:' .. name
local b = hmget(bk, 'tokens', 'updated', 'paused_until')
local tokens, updated, paused = num(b.tokens, limit), num(b.updated, now), num(b.paused_until, 0)
if paused > now then return fmt(paused - now) end
local rate = limit / per
tokens = math.min(limit, tokens + (now - updated) * rate)
local wait = 'ok'
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = fmt((1 - tokens) / rate)
end
redis.call('HSET', bk, 'tokens', fmt(tokens), 'updated', fmt(now), 'paused_until', fmt(paused))
return wait
