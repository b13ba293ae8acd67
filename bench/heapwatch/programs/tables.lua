-- Tables and strings made and dropped: every one goes through Lua's
-- allocator function, which is realloc and free.
local n = tonumber(arg[1])
local live = {}
for i = 1, n do
  local k = i % 5000
  live[k] = { id = i, name = "item" .. i, tags = { "t" .. (i % 7), "u" .. (i % 3) } }
  if i % 3 == 0 then live[(i * 7) % 5000] = nil end
end
local count = 0
for _ in pairs(live) do count = count + 1 end
print(count)
