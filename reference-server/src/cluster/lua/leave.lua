-- ARGV: prefix, app, channel, node, conn, counting. Returns transitions.
-- A leave the cluster never saw (its join failed, or the node's state was
-- reaped) changes nothing.
local app, ch, node, conn, counting = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local b = base(app)
if (tonumber(redis.call('HGET', b .. ':ch:' .. ch, 'n:' .. node)) or 0) <= 0 then
  return out
end
member_out(app, ch, node .. ':' .. conn)
count_by(app, ch, node, -1, counting)
return out
