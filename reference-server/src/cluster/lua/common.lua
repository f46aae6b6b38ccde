-- Shared by every cluster script (prepended to each). ARGV[1] is the
-- cluster's key prefix; every key is derived from it. Scripts run
-- atomically, so a transition (first member, channel vacated, ...) is seen by
-- exactly one caller, who reports it in `out`, and the events they PUBLISH
-- take Redis's one order, numbered by the app's `seq`.
local P = ARGV[1]
local out = {}
-- A quiet script changes state without telling anyone (see reconcile.lua).
local QUIET = false

local function base(app) return P .. ':' .. app end

local function publish(app, msg)
  if QUIET then return end
  redis.call('PUBLISH', base(app) .. ':events', cjson.encode(msg))
end

local function next_seq(app) return redis.call('INCR', base(app) .. ':seq') end

local function emit(app, ch, kind, user, n)
  if QUIET then return end
  table.insert(out, app)
  table.insert(out, ch)
  table.insert(out, kind)
  table.insert(out, user or '')
  table.insert(out, n or 0)
end

-- One more presence connection `field` (node:conn) of `user`; member_added
-- on the user's first connection anywhere.
local function member_in(app, ch, field, user, info)
  local b = base(app)
  redis.call('HSET', b .. ':pm:' .. ch, field, user)
  if redis.call('HINCRBY', b .. ':pu:' .. ch, user, 1) == 1 then
    redis.call('HSET', b .. ':pi:' .. ch, user, info)
    local seq = next_seq(app)
    publish(app, {t = 'added', channel = ch, user_id = user, user_info = info, seq = seq})
    emit(app, ch, 'member_added', user)
  end
end

-- One presence connection fewer; member_removed with the user's last one.
local function member_out(app, ch, field)
  local b = base(app)
  local user = redis.call('HGET', b .. ':pm:' .. ch, field)
  if not user then return end
  redis.call('HDEL', b .. ':pm:' .. ch, field)
  if redis.call('HINCRBY', b .. ':pu:' .. ch, user, -1) <= 0 then
    redis.call('HDEL', b .. ':pu:' .. ch, user)
    redis.call('HDEL', b .. ':pi:' .. ch, user)
    local seq = next_seq(app)
    publish(app, {t = 'removed', channel = ch, user_id = user, seq = seq})
    emit(app, ch, 'member_removed', user)
  end
end

-- Changes `node`'s subscription count of a channel by `delta`; records
-- occupied/vacated and, when counting, publishes the cluster-wide count.
local function count_by(app, ch, node, delta, counting)
  local b = base(app)
  local chk = b .. ':ch:' .. ch
  local chans = P .. ':node:' .. node .. ':chans'
  local entry = app .. '\n' .. ch
  local mine = redis.call('HINCRBY', chk, 'n:' .. node, delta)
  local total = redis.call('HINCRBY', chk, 'total', delta)
  if mine <= 0 then
    redis.call('HDEL', chk, 'n:' .. node)
    redis.call('SREM', chans, entry)
  else
    redis.call('SADD', chans, entry)
  end
  if total <= 0 then
    redis.call('DEL', chk)
    redis.call('SREM', b .. ':occupied', ch)
    emit(app, ch, 'vacated')
    return 0
  end
  if total == delta then
    redis.call('SADD', b .. ':occupied', ch)
    emit(app, ch, 'occupied')
  end
  if counting == '1' and string.sub(ch, 1, 9) ~= 'presence-' then
    local seq = next_seq(app)
    publish(app, {t = 'count', channel = ch, count = total, seq = seq})
    emit(app, ch, 'count', '', total)
  end
  return total
end

local function current_seq(app)
  return tonumber(redis.call('GET', base(app) .. ':seq') or '0')
end

-- Signed-in users (spec 10.4): `P:A:online` counts each user's signed-in
-- connections anywhere, `P:node:N:users:A` those on node N (for the reaper).
-- One more signed-in connection of `user` on `node`; `online` to every
-- node's watchers with the user's first connection anywhere.
local function user_in(app, node, user)
  redis.call('HINCRBY', P .. ':node:' .. node .. ':users:' .. app, user, 1)
  if redis.call('HINCRBY', base(app) .. ':online', user, 1) == 1 then
    publish(app, {t = 'online', user_id = user, seq = next_seq(app)})
  end
end

-- Up to `n` signed-in connections of `user` on `node` fewer (never more
-- than the node has); `offline` with the user's last connection anywhere.
local function user_out(app, node, user, n)
  local nk = P .. ':node:' .. node .. ':users:' .. app
  local mine = tonumber(redis.call('HGET', nk, user)) or 0
  if n > mine then n = mine end
  if n <= 0 then return end
  if redis.call('HINCRBY', nk, user, -n) <= 0 then redis.call('HDEL', nk, user) end
  local ok = base(app) .. ':online'
  if redis.call('HINCRBY', ok, user, -n) <= 0 then
    redis.call('HDEL', ok, user)
    publish(app, {t = 'offline', user_id = user, seq = next_seq(app)})
  end
end
