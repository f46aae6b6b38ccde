#!/usr/bin/env bash
# The pushcheck regression gate in a plain shell script: start the server
# under test, run the conformance catalogue against it, compare with a
# committed baseline. Exit 0 pass, 1 regression, 2 usage or harness error.
#
# Usage: examples/ci/gate.sh BASELINE.json [SERVER_COMMAND...]
# Default server: this repository's reference server on 127.0.0.1:6001.
set -euo pipefail

baseline=${1:?usage: gate.sh BASELINE.json [SERVER_COMMAND...]}
shift
out=${OUT_DIR:-pushcheck-out}
mkdir -p "$out"
export PUSHER_APP_ID=${PUSHER_APP_ID:-app-id}
export PUSHER_APP_KEY=${PUSHER_APP_KEY:-app-key}
export PUSHER_APP_SECRET=${PUSHER_APP_SECRET:-app-secret}
host=${PUSHER_HOST:-127.0.0.1}
port=${PUSHER_PORT:-6001}

if [ $# -eq 0 ]; then
  set -- cargo run --release --locked -q -p reference-server -- --bind "$host:$port"
fi
"$@" > "$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT

# Wait until the server accepts TCP connections (it has no other signal to give).
for _ in $(seq 1 600); do
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "server exited early; see $out/server.log" >&2
    exit 2
  fi
  sleep 0.1
done

pushcheck=${PUSHCHECK:-pushcheck}
# A conformance failure is judged by the comparison below, not here.
"$pushcheck" conform --target "ws://$host:$port" --json "$out/current.json" \
  --junit "$out/junit.xml" || [ $? -eq 1 ]
"$pushcheck" fuzz-auth --target "ws://$host:$port" --cases 2000 --seed "${FUZZ_SEED:-1}"
"$pushcheck" compare "$baseline" "$out/current.json" --gate correctness \
  --markdown "$out/gate.md" --json "$out/gate.json"
