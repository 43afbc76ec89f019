#!/bin/sh
# Crash safety, longer local run: kill -9 the real server at ITERATIONS random moments under a
# mixed load, restart it on the same data directory, and check that nothing acknowledged was lost
# and nothing half-done is visible (tests/it/crash_safety.rs; CI runs the default 20 kill points).
#
#   scripts/crash-test.sh            200 kill points
#   scripts/crash-test.sh 1000       1000 kill points
#   CRASH_SEED=<seed> scripts/crash-test.sh 200   repeat a run's random choices (printed first)
set -eu
cd "$(dirname "$0")/.."
iterations="${1:-200}"
case "$iterations" in
  '' | *[!0-9]*) echo "usage: $0 [ITERATIONS]" >&2; exit 2 ;;
esac
CRASH_ITERATIONS="$iterations" exec cargo test --test it crash_safety:: -- --nocapture
