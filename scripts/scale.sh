#!/usr/bin/env bash
# scripts/scale.sh CONNECTIONS: hold CONNECTIONS subscribers on one box and
# fan publishes out to all of them, over loopback only.
#
# Starts a Redis, enough clustered reference-server nodes that none holds
# more than PER_NODE connections (under the 20,000 open files a process may
# have here), with subscription counting on, and generator shards
# (`pushcheck load --shard i/N`) of at most PER_SHARD clients each, every
# shard on its own 127.0.0.x source addresses and spreading its clients
# round robin over every node. All shards are one run (one --run-id) on
# shared channels (`run.shared_channels`): they subscribe to the same channel
# "all", wait until the target reports all CONNECTIONS subscribers, and then
# ONE publisher (in shard 0) sends ROUNDS events, each of which fans out to
# all CONNECTIONS subscribers; every shard accounts every event for its own
# subscribers. Then it merges the shard reports (`pushcheck merge`) and
# prints connections held, deliveries expected and delivered, fan-out
# completion over all CONNECTIONS subscribers (the latest arrival in any
# shard, one host clock), connections per second and the peak resident
# memory of the servers and the generators (sampled from /proc).
#
# Environment: ROUNDS (5), RATE (publishes per second, 0.5), PER_NODE
# (15000), PER_SHARD (18000), SOURCES (source addresses per shard, 4), RAMP
# (connections per second per shard, 2500), LIMIT (seconds the whole run may
# take, 900), OUT (report folder, a fresh one under /tmp), NO_BUILD=1 (use
# the release binaries already built).
#
# Every process it starts is stopped on exit, however it exits.
set -euo pipefail

usage() {
    echo "usage: scripts/scale.sh CONNECTIONS   (e.g. 100000; see the header for the environment)" >&2
    exit 2
}
[[ $# -eq 1 && $1 =~ ^[0-9]+$ && $1 -ge 1 ]] || usage
CONNECTIONS=$1
ROUNDS=${ROUNDS:-5}
RATE=${RATE:-0.5}
PER_NODE=${PER_NODE:-15000}
PER_SHARD=${PER_SHARD:-18000}
SOURCES=${SOURCES:-4}
RAMP=${RAMP:-2500}
LIMIT=${LIMIT:-900}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$(mktemp -d /tmp/pushcheck-scale.XXXXXX)}
mkdir -p "$OUT"

for tool in redis-server jq; do
    command -v "$tool" >/dev/null || { echo "scale.sh: $tool is needed on PATH" >&2; exit 2; }
done
if (( PER_SHARD > 18000 )); then
    echo "scale.sh: PER_SHARD is at most 18000 (generators stay under the 20,000 open files)" >&2
    exit 2
fi

NODES=$(( (CONNECTIONS + PER_NODE - 1) / PER_NODE ))
SHARDS=$(( (CONNECTIONS + PER_SHARD - 1) / PER_SHARD ))
if (( NODES < 2 )); then NODES=2; fi
if (( SHARDS * SOURCES > 254 )); then
    echo "scale.sh: $SHARDS shards x $SOURCES source addresses do not fit in 127.0.0.1-254" >&2
    exit 2
fi

# --- cleanup: every process this script started, by pid -------------------
PIDS=()
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
remaining() { echo $(( LIMIT - (SECONDS - START) )); }

# --- build -----------------------------------------------------------------
if [[ ${NO_BUILD:-} != 1 ]]; then
    echo "building release binaries..."
    (cd "$ROOT" && cargo build --release --quiet -p pushcheck -p reference-server)
fi
BIN=$ROOT/target/release
for b in pushcheck reference-server; do
    [[ -x $BIN/$b ]] || { echo "scale.sh: $BIN/$b is missing (build it or unset NO_BUILD)" >&2; exit 2; }
done

START=$SECONDS

# A free loopback port (nothing answers on it now).
free_port() {
    local port
    while :; do
        port=$(( 20000 + RANDOM % 12000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
}

# Waits until a process writes `pattern` to `file`, or fails after `secs`.
wait_for_line() {
    local file=$1 pattern=$2 secs=$3 pid=$4
    local deadline=$(( SECONDS + secs ))
    until grep -q "$pattern" "$file" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "scale.sh: process $pid exited; its output:" >&2
            tail -5 "$file" >&2
            exit 1
        fi
        if (( SECONDS > deadline )); then
            echo "scale.sh: no \"$pattern\" in $file within ${secs}s" >&2
            exit 1
        fi
        sleep 0.2
    done
}

# --- redis and the nodes ---------------------------------------------------
REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --protected-mode no --maxclients 10000 >"$OUT/redis.log" 2>&1 &
PIDS+=($!)
wait_for_line "$OUT/redis.log" "Ready to accept connections" 20 $!
echo "redis on 127.0.0.1:$REDIS_PORT"

# The shards start together on the target's subscription counts (spec 8.5),
# which the reference server reports only with subscription counting on.
SERVER_CONFIG=$OUT/server.toml
cat >"$SERVER_CONFIG" <<'EOF'
[[apps]]
id = "app-id"
key = "app-key"
secret = "app-secret"
subscription_count = true
EOF

SERVER_PIDS=()
PROFILE=$OUT/nodes.toml
: >"$PROFILE"
FIRST=""
for (( k = 0; k < NODES; k++ )); do
    log=$OUT/node-$((k + 1)).log
    "$BIN/reference-server" --bind 127.0.0.1:0 --config "$SERVER_CONFIG" \
        --redis "redis://127.0.0.1:$REDIS_PORT" --node-id "node-$((k + 1))" >"$log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    SERVER_PIDS+=("$pid")
    wait_for_line "$log" "listening on" 30 "$pid"
    addr=$(grep -o 'ws://[0-9.:]*' "$log" | head -1 | sed 's#ws://##')
    printf '[[nodes]]\nname = "node-%d"\nurl = "ws://%s"\nrest_url = "http://%s"\n' \
        $((k + 1)) "$addr" "$addr" >>"$PROFILE"
    FIRST=${FIRST:-$addr}
done
echo "$NODES reference-server nodes (at most $PER_NODE connections each)"

# --- the scenario ----------------------------------------------------------
SCENARIO=$OUT/scale.toml
cat >"$SCENARIO" <<EOF
version = 1
name = "scale"
description = "$CONNECTIONS subscribers over $NODES nodes and $SHARDS shards on one shared channel; one publisher sends $ROUNDS events to all of them."
thresholds = ["lost == 0", "duplicated == 0", "unexpected == 0"]

[run]
messages = $ROUNDS
shared_channels = true
drain = "60s"
connect_timeout = "120s"
max_schedule_lag = "1s"
source_addresses = $SOURCES

[[channels]]
name = "all"
kind = "public"
count = 1

[[population]]
name = "subscribers"
behaviour = "subscriber"
count = $CONNECTIONS
ramp = $RAMP
channels = "all"
nodes = "round-robin"

[[population]]
name = "publisher"
behaviour = "publisher"
count = 1
rate = $RATE
channels = "all"
EOF

# --- memory sampling -------------------------------------------------------
GEN_PIDS=()
# Resident KiB of the processes and their children (a generator runs
# under `timeout`, which holds the pid this script knows).
rss_kib() {
    local total=0 pid v kids
    for pid in "$@"; do
        kids=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)
        for p in $pid $kids; do
            v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
            total=$(( total + ${v:-0} ))
        done
    done
    echo "$total"
}
sample_memory() {
    local peak_s=0 peak_g=0 peak_t=0 s g
    while :; do
        s=$(rss_kib "${SERVER_PIDS[@]}")
        g=$(rss_kib $(cat "$OUT/generator.pids" 2>/dev/null))
        (( s > peak_s )) && peak_s=$s
        (( g > peak_g )) && peak_g=$g
        (( s + g > peak_t )) && peak_t=$(( s + g ))
        echo "$peak_s $peak_g $peak_t" >"$OUT/rss.peak"
        sleep 1
    done
}
: >"$OUT/generator.pids"
sample_memory &
PIDS+=($!)

# --- the shards ------------------------------------------------------------
echo "$SHARDS generator shards (at most $PER_SHARD clients each, $SOURCES source addresses each)"
STAMP=$(date +%s)
left=$(remaining)
if (( left < 30 )); then
    echo "scale.sh: only ${left}s of LIMIT=$LIMIT left for the shards" >&2
    exit 1
fi
for (( i = 0; i < SHARDS; i++ )); do
    # One run id: every shard on the same channel, each accounting the
    # publisher's events for its own subscribers.
    timeout --signal=KILL "$left" "$BIN/pushcheck" load "$SCENARIO" \
        --target "ws://$FIRST" --profile "$PROFILE" \
        --shard "$i/$SHARDS" --run-id "scale-$STAMP" \
        --out "$OUT/shard-$i" --quiet >"$OUT/shard-$i.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    GEN_PIDS+=("$pid")
    echo "$pid" >>"$OUT/generator.pids"
done
failed=0
for pid in "${GEN_PIDS[@]}"; do
    # 0 pass, 1 fail, 3 invalid still wrote a report; 2 did not.
    wait "$pid" || { rc=$?; (( rc == 1 || rc == 3 )) || failed=1; }
done
if (( failed )); then
    echo "scale.sh: a shard could not run; its log:" >&2
    for (( i = 0; i < SHARDS; i++ )); do tail -3 "$OUT/shard-$i.log" >&2; done
    exit 1
fi
read -r PEAK_S PEAK_G PEAK_T <"$OUT/rss.peak"

# --- merge and the figures -------------------------------------------------
shard_dirs=()
for (( i = 0; i < SHARDS; i++ )); do shard_dirs+=("$OUT/shard-$i"); done
"$BIN/pushcheck" merge "${shard_dirs[@]}" --out "$OUT/merged" >"$OUT/merge.log" 2>&1 || true
J=$OUT/merged/load.json
[[ -s $J ]] || { echo "scale.sh: merge wrote no report; see $OUT/merge.log" >&2; exit 1; }

ms() { jq -r "$1 / 1000 | . * 100 | round / 100" "$J"; }
held=$(jq -r '.tally.ready' "$J")
established=$(jq -r '.tally.connections' "$J")
expected=$(jq -r '.deliveries.expected' "$J")
delivered=$(jq -r '.deliveries.delivered + .deliveries.reordered' "$J")
lost=$(jq -r '.deliveries.lost' "$J")
dup=$(jq -r '.deliveries.duplicated' "$J")
connect_s=$(jq -r '.budget.connect_seconds' "$J")
cps=$(jq -r '.budget.connections_per_s | round' "$J")
verdict=$(jq -r '.verdict' "$J")
scope=$(jq -r '.shared.fanout_scope // "shard"' "$J")
completed=$(jq -r '.metrics.fanout.count' "$J")
start_note=$(jq -r '.validity.shared_start // empty' "$J")
if [[ $scope == run ]]; then
    fanout_of="over all $CONNECTIONS subscribers of every shard; $completed of $ROUNDS events reached all of them"
else
    fanout_of="per shard: the shards did not share one host clock"
fi
per_node=$(jq -r '[.nodes[] | "\(.name) \(.connections)"] | join(", ")' "$J")

cat <<EOF

scale run: $CONNECTIONS connections, $NODES nodes, $SHARDS shards, $ROUNDS rounds (report: $OUT/merged)
connections held         $held of $CONNECTIONS (established $established)
per node                 $per_node
deliveries expected      $expected
deliveries delivered     $delivered (lost $lost, duplicated $dup)
fan-out completion       p50 $(ms .metrics.fanout.p50) ms, p99 $(ms .metrics.fanout.p99) ms, max $(ms .metrics.fanout.max) ms ($fanout_of)
delivery                 p50 $(ms .metrics.deliver.p50) ms, p99 $(ms .metrics.deliver.p99) ms (same-node p99 $(ms .metrics.deliver_same_node.p99) ms, cross-node p99 $(ms .metrics.deliver_cross_node.p99) ms)
connections per second   $cps (all shards together; slowest shard connected in ${connect_s}s)
peak RSS                 servers $(( PEAK_S / 1024 )) MiB + generators $(( PEAK_G / 1024 )) MiB = $(( PEAK_T / 1024 )) MiB at the highest total sample
verdict                  $verdict (wall time $(( SECONDS - START ))s)${start_note:+
shared start             $start_note}
EOF
[[ $verdict == pass && $lost == 0 ]]
