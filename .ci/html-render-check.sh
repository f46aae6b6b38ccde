#!/usr/bin/env bash
# Renders every HTML page pushcheck writes in headless Chromium and checks
# the rendered DOM, the browser console and a screenshot of each:
#   1. the load report (scenarios/smoke.toml against the bundled server);
#   2. the conformance report of one target (the bundled server);
#   3. the matrix of two targets: two standalone reference servers, one
#      with client events switched off so their columns differ.
# Screenshots (PNG) stay in $HTML_CHECK_OUT (default target/html-render-check)
# for a person to look at. Installs Debian's chromium when it is missing
# (needs root and apt).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "html-render-check: chromium is not installed and could not be installed" >&2
  exit 1
fi

out=${HTML_CHECK_OUT:-target/html-render-check}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "html-render-check: $*" >&2; exit 1; }

# chromium_run NAME URL ARGS...: a fresh profile per run, console on stderr.
chromium_run() {
  local name=$1 url=$2
  shift 2
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile-$name-$RANDOM" --enable-logging=stderr --v=0 \
    "$@" "$url" 2>>"$work/$name.console"
}

# render NAME FILE HEIGHT: the DOM to $work/NAME.dom, a screenshot to
# $out/NAME.png; fails on any console message (the pages carry no script, so
# anything there is a browser-side error) and on external resources.
render() {
  local name=$1 file=$2 height=$3
  chromium_run "$name" "file://$file" --dump-dom >"$work/$name.dom"
  chromium_run "$name" "file://$file" --window-size=1280,"$height" --screenshot="$out/$name.png" >/dev/null
  [ -s "$out/$name.png" ] || fail "$name: no screenshot"
  if grep -q 'CONSOLE' "$work/$name.console"; then
    grep 'CONSOLE' "$work/$name.console" >&2
    fail "$name: console messages"
  fi
  if grep -qE '<script|<link|<img|src="http|url\(http' "$work/$name.dom"; then
    fail "$name: the page is not self-contained"
  fi
  grep -q '<h1>pushcheck' "$work/$name.dom" || fail "$name: the page did not render"
}

# Every in-page link of a page leads to an element of that page.
links_resolve() {
  local name=$1
  grep -o 'href="#[^"]*"' "$work/$name.dom" | sed 's/href="#//; s/"$//' | sort -u >"$work/$name.hrefs"
  grep -o ' id="[^"]*"' "$work/$name.dom" | sed 's/ id="//; s/"$//' | sort -u >"$work/$name.ids"
  local missing
  missing=$(comm -23 "$work/$name.hrefs" "$work/$name.ids" | head -5)
  [ -z "$missing" ] || fail "$name: links to missing ids: $missing"
}

cargo build --release --locked --quiet --bin pushcheck -p pushcheck
cargo build --release --locked --quiet --bin reference-server -p reference-server
bin=${CARGO_TARGET_DIR:-$PWD/target}/release

# 1. The load report.
"$bin/pushcheck" load scenarios/smoke.toml --out "$work/load" --quiet >"$work/load.txt"
render load "$work/load/report.html" 3600
grep -q 'id="load-verdict">pass<' "$work/load.dom" || fail "load: no passing load verdict"
charts=$(grep -o '<svg class="chart"' "$work/load.dom" | wc -l)
[ "$charts" -ge 4 ] || fail "load: expected at least 4 charts, found $charts"
grep -q '<polyline class="series"' "$work/load.dom" || fail "load: the charts have no lines"
grep -q 'id="generator"' "$work/load.dom" || fail "load: no generator health"

# 2. One target's conformance report.
"$bin/pushcheck" conform --html "$work/conform.html" >"$work/conform.txt" 2>&1 || true
render conform "$work/conform.html" 2400
grep -q 'id="by-section"' "$work/conform.dom" || fail "conform: no summary by section"
cases=$(grep -o '<details class="case' "$work/conform.dom" | wc -l)
listed=$("$bin/pushcheck" conform --dry-run | wc -l)
[ "$cases" -eq "$listed" ] || fail "conform: $cases expandable cases for $listed in the catalogue"
grep -q '<details class="passes">' "$work/conform.dom" || fail "conform: passes are not collapsed"

# 3. The matrix of two targets.
start_server() { # NAME [CONFIG]: starts a reference server on a free port, prints its ws base
  local name=$1 config=${2:-}
  local args=(--bind 127.0.0.1:0)
  [ -n "$config" ] && args+=(--config "$config")
  "$bin/reference-server" "${args[@]}" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    if grep -qo 'ws://127.0.0.1:[0-9]*' "$work/$name.log"; then
      grep -o 'ws://127.0.0.1:[0-9]*' "$work/$name.log" | head -1
      return
    fi
    sleep 0.1 # the server prints its address once bound; nothing else to wait on
  done
  fail "$name: the reference server did not start"
}
cat >"$work/quiet.toml" <<'EOF'
[[apps]]
id = "app-id"
key = "app-key"
secret = "app-secret"
client_events = false
EOF
full=$(start_server full)
quiet=$(start_server quiet "$work/quiet.toml")
"$bin/pushcheck" conform --target "full=$full" --target "quiet=$quiet" \
  --html "$work/matrix.html" >"$work/matrix.txt" 2>&1 || true
render matrix "$work/matrix.html" 1600
grep -q 'id="matrix"' "$work/matrix.dom" || fail "matrix: no matrix table"
targets=$(grep -o '<section class="target"' "$work/matrix.dom" | wc -l)
[ "$targets" -eq 2 ] || fail "matrix: expected 2 target sections, found $targets"
grep -q 'class="cell v-fail"' "$work/matrix.dom" || fail "matrix: the client-events-off target shows no failure"
links_resolve matrix
# A cell opens that target's detail: fragment navigation opens the <details>.
cell=$(grep -o 'class="cell v-fail"><a href="#[^"]*"' "$work/matrix.dom" | head -1 | sed 's/.*href="#//; s/"$//')
chromium_run matrix-cell "file://$work/matrix.html#$cell" --dump-dom >"$work/matrix-cell.dom"
grep -q "<details class=\"case v-fail\" open=\"\"><summary>" "$work/matrix-cell.dom" ||
  fail "matrix: following the cell link to #$cell did not open the case"

echo "html-render-check: load, conform and matrix rendered in $(chromium --version); screenshots in $out"
