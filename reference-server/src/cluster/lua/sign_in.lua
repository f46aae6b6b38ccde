-- ARGV: prefix, app, node, user, watched user ids... A connection of `user`
-- on `node` signed in (spec 10.4). Returns {seq, online}: the app's
-- sequence number after the sign-in (watchlist events numbered above it
-- come after the state returned) and which watched ids are online anywhere.
local app, node, user = ARGV[2], ARGV[3], ARGV[4]
user_in(app, node, user)
local seq = tonumber(redis.call('GET', base(app) .. ':seq')) or 0
local online = {}
local ok = base(app) .. ':online'
for i = 5, #ARGV do
  if redis.call('HEXISTS', ok, ARGV[i]) == 1 then table.insert(online, ARGV[i]) end
end
return {seq, online}
