#!/usr/bin/env bash
# Renders the load report's HTML in headless Chromium and checks the rendered
# DOM: the verdict, the inline SVG plots and no failed resources. Installs
# Debian's chromium when it is missing (needs root and apt).
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

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo run --release --locked --quiet -- load scenarios/smoke.toml --out "$work/report" --quiet >"$work/load.txt"

chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run \
  --user-data-dir="$work/profile" --dump-dom "file://$work/report/report.html" \
  >"$work/dom.html" 2>"$work/chromium.log"

fail() { echo "html-render-check: $*" >&2; exit 1; }
grep -q '<h1>pushcheck report</h1>' "$work/dom.html" || fail "the page did not render"
grep -q 'id="load-verdict">pass<' "$work/dom.html" || fail "no passing load verdict in the rendered page"
svgs=$(grep -o '<svg' "$work/dom.html" | wc -l)
[ "$svgs" -ge 4 ] || fail "expected at least 4 inline SVG plots, found $svgs"
grep -q '<polyline' "$work/dom.html" || fail "the plots have no lines"
if grep -qE '<script|<link' "$work/dom.html"; then fail "the report is not self-contained"; fi
echo "html-render-check: report.html rendered in $(chromium --version) with $svgs plots"
