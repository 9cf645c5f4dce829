-- pause_rate(name, seconds): empty the bucket; it refills from the end of the pause
local bk, now = P .. 'bucket:' .. ARGV[2], now_s()
local until_ = now + tonumber(ARGV[3])
local paused = math.max(num(redis.call('HGET', bk, 'paused_until'), 0), until_)
redis.call('HSET', bk, 'tokens', 0, 'updated', fmt(paused), 'paused_until', fmt(paused))
return 1
