-- ARGV: prefix, app, node, user. A signed-in connection of `user` on `node`
-- closed; `offline` when it was the user's last anywhere (spec 10.4).
user_out(ARGV[2], ARGV[3], ARGV[4], 1)
return 0
