-- ARGV: prefix, node, mode, app ids... Removes every subscription,
-- presence connection and signed-in user of `node`. Mode 'dead' acts only when the node's lease
-- has expired and it is still listed, and unlists it, so of all the nodes
-- that notice, exactly one reaps. Mode 'own' is a node clearing an earlier
-- incarnation of itself. Returns transitions.
local node, mode = ARGV[2], ARGV[3]
-- Fault `cluster_reap_keeps_users`: a dead node's signed-in users stay online.
local keep_users = mode == 'dead_keep_users'
-- Fault `cluster_restart_revives_users`: its users go offline, but the
-- node's record of them stays (adopt_users.lua signs them in again).
local keep_record = mode == 'dead_keep_record'
if keep_users or keep_record then mode = 'dead' end
if mode == 'dead' then
  if redis.call('EXISTS', P .. ':node:' .. node) == 1 then return out end
  if redis.call('SREM', P .. ':nodes', node) == 0 then return out end
end
local chans = P .. ':node:' .. node .. ':chans'
local prefix = node .. ':'
for _, entry in ipairs(redis.call('SMEMBERS', chans)) do
  local nl = string.find(entry, '\n', 1, true)
  local app, ch = string.sub(entry, 1, nl - 1), string.sub(entry, nl + 1)
  local b = base(app)
  local pm = redis.call('HGETALL', b .. ':pm:' .. ch)
  for i = 1, #pm, 2 do
    if string.sub(pm[i], 1, #prefix) == prefix then member_out(app, ch, pm[i]) end
  end
  local mine = tonumber(redis.call('HGET', b .. ':ch:' .. ch, 'n:' .. node)) or 0
  if mine > 0 then count_by(app, ch, node, -mine, '1') end
end
redis.call('DEL', chans)
for i = 4, #ARGV do
  local app = ARGV[i]
  redis.call('HDEL', base(app) .. ':conns', node)
  -- Its signed-in users go offline unless connected elsewhere (spec 10.4).
  local nk = P .. ':node:' .. node .. ':users:' .. app
  if not keep_users then
    local signed = redis.call('HGETALL', nk)
    for j = 1, #signed, 2 do user_out(app, node, signed[j], tonumber(signed[j + 1]) or 0) end
    redis.call('DEL', nk)
    if keep_record and #signed > 0 then redis.call('HSET', nk, unpack(signed)) end
  end
end
return out
