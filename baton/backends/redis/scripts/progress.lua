-- progress(job_id, token, fraction, message|'', data JSON) -> 1, or 0 when the lease is stale
local id, token = ARGV[2], tonumber(ARGV[3])
if not fenced(id, token) then return 0 end
redis.call('HSET', jk(id), 'progress', ARGV[4])
if ARGV[5] == '' then
  redis.call('HDEL', jk(id), 'progress_message')
else
  redis.call('HSET', jk(id), 'progress_message', ARGV[5])
end
emit(id, now_s(), 'job.progress', ARGV[6])
return 1
