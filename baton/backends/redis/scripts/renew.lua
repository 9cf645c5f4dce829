-- renew(worker, lease_for, job_id...) -> {lease_token, status, ...} per job
-- Extends only the listed leases the worker still holds: one it stopped listing lapses.
local worker, lease_for = ARGV[2], tonumber(ARGV[3])
local expires = now_s() + lease_for
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local j = hmget(jk(id), 'lease_owner', 'status', 'queue', 'lease_token')
  if j.lease_owner == worker and j.status == 'running' then
    redis.call('HSET', jk(id), 'lease_expires', fmt(expires))
    redis.call('ZADD', P .. 'leases:' .. j.queue, expires, id)
  end
  out[#out + 1] = j.lease_token or ''
  out[#out + 1] = j.status or ''
end
return out
