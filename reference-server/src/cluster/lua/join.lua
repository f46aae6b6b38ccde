-- ARGV: prefix, app, channel, node, conn, user ('' unless presence),
-- user_info JSON ('' when absent), member limit, counting ('1'/'0'),
-- cache ('1' for cache channels). Returns {-1} when the presence channel is
-- full, else {seq, total, transitions, roster (user, info, ...), cache slot
-- JSON or ''}: the slot is read in the same step, so it matches `seq`.
local app, ch, node, conn, user, info = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local limit, counting, cached = tonumber(ARGV[8]), ARGV[9], ARGV[10]
local b = base(app)
if user ~= '' and redis.call('HEXISTS', b .. ':pu:' .. ch, user) == 0
    and redis.call('HLEN', b .. ':pu:' .. ch) >= limit then
  return {-1}
end
local total = count_by(app, ch, node, 1, counting)
local roster = {}
if user ~= '' then
  member_in(app, ch, node .. ':' .. conn, user, info)
  roster = redis.call('HGETALL', b .. ':pi:' .. ch)
end
local slot = ''
if cached == '1' then slot = redis.call('GET', b .. ':cache:' .. ch) or '' end
return {current_seq(app), total, out, roster, slot}
