-- start_step(job_id, token, key) -> 1, or 0 when the lease is stale
local id, token, key = ARGV[2], tonumber(ARGV[3]), ARGV[4]
if not fenced(id, token) then return 0 end
redis.call('HSET', jk(id), 'current_step', key)
emit(id, now_s(), 'step.started', cjson.encode({step = key}))
return 1
