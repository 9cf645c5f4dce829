-- release_permit(job_id, token, name, key): only the caller's own slot, so a stale lease
-- cannot free the slot its job's new owner holds.
local id, token, pk = ARGV[2], ARGV[3], P .. 'permit:' .. ARGV[4] .. '\0' .. ARGV[5]
if redis.call('HGET', pk, id) == token then redis.call('HDEL', pk, id) end
return 1
