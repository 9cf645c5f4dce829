-- list_jobs(index key, before|'', limit, budget, tenant, pipeline, queue, status) ->
--   {cursor ('' when the index is exhausted), id...}
-- Walks one index (a lexicographic set of job ids: uuid7, so newest last) from `before`
-- down, keeping the ids whose job matches every filter; stops after `budget` ids so one
-- call stays short, and the caller goes on from the cursor.
local idx, before, limit, budget = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local want = {tenant = ARGV[6], pipeline = ARGV[7], queue = ARGV[8], status = ARGV[9]}
local maxs = '+'
if before ~= '' then maxs = '(' .. before end
local out, scanned, cursor = {''}, 0, ''
while #out - 1 < limit and scanned < budget do
  local batch = redis.call('ZREVRANGEBYLEX', idx, maxs, '-', 'LIMIT', 0, 200)
  for _, id in ipairs(batch) do
    scanned = scanned + 1
    cursor = id
    local j = hmget(jk(id), 'tenant', 'pipeline', 'queue', 'status')
    local ok = j.status ~= nil
    for f, v in pairs(want) do
      if v ~= '' and j[f] ~= v then ok = false end
    end
    if ok then out[#out + 1] = id end
    if #out - 1 >= limit then break end
  end
  if #batch < 200 and #out - 1 < limit then cursor = ''; break end
  maxs = '(' .. cursor
end
out[1] = cursor
return out
