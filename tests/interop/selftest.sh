#!/usr/bin/env bash
# Self-test of the interop lane: builds reference-server with `--features
# faults` and runs the lane once per deliberate misbehaviour, expecting at
# least one failing test each time (a lane that stays green against a broken
# server proves nothing). Not part of CI; run by hand after changing the lane:
#
#   bash tests/interop/selftest.sh [fault ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
root="$(cd ../.. && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build -p reference-server --features faults)
export REFERENCE_SERVER_BIN="$target/debug/reference-server"
[[ -d node_modules ]] || npm ci --no-audit --no-fund

faults=("$@")
if [[ ${#faults[@]} -eq 0 ]]; then
  faults=(accept_any_signature echo_client_events client_events_on_public drop_member_removed
    skip_socket_exclusion keep_client_user_id member_added_per_connection no_cache_replay
    leak_failed_subscriber allow_unsubscribed_client_events)
fi

undetected=0
for fault in "${faults[@]}"; do
  if INTEROP_FAULTS="$fault" INTEROP_WAIT_MS=2000 timeout 300 \
      node --test --test-concurrency=1 --test-timeout=20000 --test-force-exit test/*.test.js >"/tmp/interop-selftest-$fault.log" 2>&1; then
    echo "UNDETECTED  $fault (lane passed; log /tmp/interop-selftest-$fault.log)"
    undetected=$((undetected + 1))
  else
    failed=$(grep -E '^not ok' "/tmp/interop-selftest-$fault.log" | sed 's/^not ok [0-9]* - //' | paste -sd ';' -)
    echo "detected    $fault: $failed"
  fi
done
echo "selftest: $(( ${#faults[@]} - undetected )) of ${#faults[@]} faults detected"
[[ $undetected -eq 0 ]]
