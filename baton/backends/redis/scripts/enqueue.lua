-- enqueue(jobs JSON array) -> {id, created (1|0), ...}
local now = now_s()
local out = {}
for _, job in ipairs(cjson.decode(ARGV[2])) do
  local id, created = insert(job, now)
  out[#out + 1] = id
  out[#out + 1] = created and 1 or 0
end
flush_wakes()
return out
