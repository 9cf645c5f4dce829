-- next_due(queue...) -> {now, when the next job may become runnable ('' if never)}
local now = now_s()
local best = nil
for i = 2, #ARGV do
  local q = ARGV[i]
  if redis.call('ZCARD', P .. 'ready:' .. q) > 0 then return {fmt(now), fmt(now)} end
  for _, k in ipairs({'delayed:', 'leases:', 'expiring:', 'deadlines:'}) do
    local first = redis.call('ZRANGE', P .. k .. q, 0, 0, 'WITHSCORES')
    if first[2] and (best == nil or tonumber(first[2]) < best) then best = tonumber(first[2]) end
  end
end
return {fmt(now), best and fmt(best) or ''}
