#!/usr/bin/env bash
# Interop lane: drives reference-server with real third-party clients
# (pusher-js as the browser client, the `pusher` Node SDK as the app server).
#
#   bash tests/interop/run.sh
#
# Env:
#   REFERENCE_SERVER_BIN  server binary to test; if unset, built here in release
#                         (honours CARGO_TARGET_DIR).
#   INTEROP_TIMEOUT       hard limit for the whole node run in seconds (default 300).
#   INTEROP_WAIT_MS       per-wait timeout inside the tests (default 5000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
root="$(cd ../.. && pwd)"

echo "interop: node $(node --version), npm $(npm --version)"
npm ci --no-audit --no-fund

if [[ -z "${REFERENCE_SERVER_BIN:-}" ]]; then
  (cd "$root" && cargo build --release -p reference-server)
  REFERENCE_SERVER_BIN="${CARGO_TARGET_DIR:-$root/target}/release/reference-server"
fi
case "$REFERENCE_SERVER_BIN" in
  /*) ;;
  *) REFERENCE_SERVER_BIN="$PWD/$REFERENCE_SERVER_BIN" ;;
esac
export REFERENCE_SERVER_BIN
if [[ ! -x "$REFERENCE_SERVER_BIN" ]]; then
  echo "interop: no executable server at $REFERENCE_SERVER_BIN" >&2
  exit 1
fi
echo "interop: server $REFERENCE_SERVER_BIN"
echo "interop: pusher-js $(node -p "require('pusher-js/package.json').version"), pusher $(node -p "require('pusher/package.json').version")"

# One file per server process; files run one at a time so timings stay stable
# on a 2-core machine. --test-timeout bounds each test, timeout the whole run.
# --test-force-exit: when the server closes a connection with a 40xx code,
# pusher-js ("refused") calls close() on its already-closed faye-websocket,
# which arms faye's 30 s close timer that nothing clears; without this flag
# that stray client-side timer keeps a finished test file alive for 30 s.
exec timeout --kill-after=10 "${INTEROP_TIMEOUT:-300}" \
  node --test --test-concurrency=1 --test-timeout=20000 --test-force-exit test/*.test.js
