-- ARGV: prefix, app, channel, ttl ms, event, data, origin node, exclude
-- socket id ('' for none). Stores the cache slot and publishes in one step,
-- numbered like presence changes, so a subscriber joining on any node either
-- replays it from the slot (its join ran later) or receives it (earlier),
-- never both. Returns the message's sequence number.
local app, ch, ttl, event, data, origin, exclude = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local b = base(app)
redis.call('SET', b .. ':cache:' .. ch, cjson.encode({event = event, data = data}), 'PX', ttl)
local seq = next_seq(app)
local msg = {t = 'publish', origin = tonumber(origin), channel = ch, event = event, data = data, seq = seq}
if exclude ~= '' then msg.exclude = exclude end
publish(app, msg)
return seq
