-- ARGV: prefix, app, node. One connection of `node` fewer, never below 0.
local key = base(ARGV[2]) .. ':conns'
if redis.call('HINCRBY', key, ARGV[3], -1) <= 0 then redis.call('HDEL', key, ARGV[3]) end
return 1
