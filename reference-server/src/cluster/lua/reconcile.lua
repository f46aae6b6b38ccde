-- ARGV: prefix, app, channel, node, counting, local subscription count,
-- loud ('1'/'0'), then (conn, user, user_info) per local presence
-- connection. Makes the node's share of the channel in Redis equal to what
-- the node holds: used after a Redis outage. Loud (the cluster saw the
-- node's share change, e.g. it was reaped) publishes and reports the
-- transitions; quiet (Redis lost its data, nobody saw anything change)
-- restores the state silently, so clients and webhooks get no duplicates.
local app, ch, node, counting = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local want = tonumber(ARGV[6])
QUIET = ARGV[7] ~= '1'
local b = base(app)
local prefix = node .. ':'
local wanted = {}
for i = 8, #ARGV, 3 do wanted[prefix .. ARGV[i]] = {ARGV[i + 1], ARGV[i + 2]} end
local pm = redis.call('HGETALL', b .. ':pm:' .. ch)
local have = {}
for i = 1, #pm, 2 do
  local field = pm[i]
  if string.sub(field, 1, #prefix) == prefix then
    if wanted[field] == nil or wanted[field][1] ~= pm[i + 1] then
      member_out(app, ch, field)
    else
      have[field] = true
    end
  end
end
local mine = tonumber(redis.call('HGET', b .. ':ch:' .. ch, 'n:' .. node)) or 0
if want ~= mine then count_by(app, ch, node, want - mine, counting) end
for field, m in pairs(wanted) do
  if not have[field] then member_in(app, ch, field, m[1], m[2]) end
end
return out
