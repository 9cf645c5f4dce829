-- save_step(job_id, token, step JSON) -> 1, or 0 when the lease is stale
local id, token = ARGV[2], tonumber(ARGV[3])
if not fenced(id, token) then return 0 end
save_step(id, redis.call('HGET', jk(id), 'lease_owner'), cjson.decode(ARGV[4]), now_s())
return 1
