-- ARGV: prefix, app, node, limit. Counts one more connection of `node`
-- unless the app's connections across the cluster reach the limit.
-- Returns 1 when admitted, 0 when over quota.
local app, node, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = base(app) .. ':conns'
local sum = 0
for _, n in ipairs(redis.call('HVALS', key)) do sum = sum + tonumber(n) end
if sum >= limit then return 0 end
redis.call('HINCRBY', key, node, 1)
return 1
