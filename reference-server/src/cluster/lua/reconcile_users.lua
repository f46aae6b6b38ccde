-- ARGV: prefix, app, node, loud ('1'/'0'), then (user, connections) per
-- user signed in on the node. Makes the node's signed-in users in Redis
-- (`P:node:N:users:A`, and their share of `P:A:online`) equal to what the
-- node holds: used after a Redis outage, like reconcile.lua for channels.
-- Loud publishes the `online`/`offline` of users whose first or last
-- connection anywhere this adds or removes (a sign-in or sign-out the
-- outage dropped); quiet (Redis lost its data: the watchers saw nothing
-- change) puts the users back without telling anyone.
local app, node = ARGV[2], ARGV[3]
QUIET = ARGV[4] ~= '1'
local wanted = {}
for i = 5, #ARGV, 2 do wanted[ARGV[i]] = tonumber(ARGV[i + 1]) or 0 end
local nk = P .. ':node:' .. node .. ':users:' .. app
local have = redis.call('HGETALL', nk)
local mine = {}
for i = 1, #have, 2 do mine[have[i]] = tonumber(have[i + 1]) or 0 end
for user, n in pairs(mine) do
  local want = wanted[user] or 0
  if n > want then user_out(app, node, user, n - want) end
end
for user, want in pairs(wanted) do
  for _ = (mine[user] or 0) + 1, want do user_in(app, node, user) end
end
return out
