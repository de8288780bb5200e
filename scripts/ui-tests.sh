#!/usr/bin/env bash
# Browser tests (Galata/Playwright on Debian's chromium) against real Jupyter
# servers: one on a tiny random-weight model, one on the embedded 1.5B model.
# Expects the package installed in the active environment (scripts/test.sh
# does that). Prints a plain "N passed, N failed" line at the end.
#
#   bash scripts/ui-tests.sh                 # tiny and embedded projects
#   UI_PROJECTS=tiny bash scripts/ui-tests.sh
set -euo pipefail
cd "$(dirname "$0")/../ui-tests"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium (Playwright's own download is not reachable here)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing: install it (apt-get install chromium) or set CHROMIUM" >&2
    exit 1
  fi
fi
export CHROMIUM

PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 jlpm install >/dev/null

projects="${UI_PROJECTS:-tiny,embedded}"
args=()
for p in ${projects//,/ }; do args+=(--project "$p"); done
rm -rf test-results screenshots
status=0
CI=1 UI_SERVERS="$projects" npx playwright test "${args[@]}" || status=$?

# Playwright's own summary is not a count CI reads: print one.
node -e '
const r = require("./test-results/results.json");
let passed = 0, failed = 0;
const walk = s => {
  for (const spec of s.specs || []) for (const t of spec.tests) {
    const ok = t.results.length && t.results[t.results.length - 1].status === "passed";
    if (t.status === "skipped") continue;
    ok ? passed++ : failed++;
  }
  (s.suites || []).forEach(walk);
};
r.suites.forEach(walk);
console.log(`ui-tests: ${passed} passed, ${failed} failed`);
' || echo "ui-tests: 0 passed, 1 failed"
echo "screenshots: ui-tests/screenshots/"
exit "$status"
