-- Fault `cluster_restart_revives_users` only. ARGV: prefix, earlier node,
-- new node, app ids... A node started again under the same name takes its
-- earlier run's record of signed-in users as its own, signing each in
-- again (`online` to every watcher), instead of letting the reap clear it.
local old, new = ARGV[2], ARGV[3]
for i = 4, #ARGV do
  local app = ARGV[i]
  local ok = P .. ':node:' .. old .. ':users:' .. app
  local signed = redis.call('HGETALL', ok)
  redis.call('DEL', ok)
  for j = 1, #signed, 2 do
    for _ = 1, tonumber(signed[j + 1]) or 0 do user_in(app, new, signed[j]) end
  end
end
return 1
