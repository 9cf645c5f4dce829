-- save_step(job_id, token, step JSON) -> 1, or 0 when the lease is stale
local id, token = ARGV[2], tonumber(ARGV[3])
local j = fenced(id, token)
if not j then return 0 end
save_step(id, j.lease_owner, cjson.decode(ARGV[4]), now_s())
return 1
