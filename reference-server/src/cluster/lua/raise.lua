-- ARGV: prefix, key (after the prefix), value. Raises a counter to at least
-- `value`: after Redis lost its data, node numbers and message sequence
-- numbers must not start again below ones still in use.
local key = P .. ':' .. ARGV[2]
local value = tonumber(ARGV[3])
if (tonumber(redis.call('GET', key) or '0')) < value then redis.call('SET', key, value) end
return 1
