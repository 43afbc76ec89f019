#!/bin/sh
# Runs its arguments against a throw-away PostgreSQL cluster: `pg_virtualenv` (Debian's
# postgresql-common) creates a temporary cluster, exports PGHOST, PGPORT, PGUSER, PGPASSWORD and
# PGDATABASE for the command, and drops the cluster afterwards. ASSENT_TEST_POSTGRES=1 tells the
# test suites to run their PostgreSQL parts (tests/it/pg.rs). The exit status is the command's.
#
#   bash scripts/with-postgres.sh cargo test --test it
#   bash scripts/with-postgres.sh cargo test --test it multinode -- --nocapture
#
# Without PostgreSQL it installs Debian's package when it can (root, apt-get); otherwise it
# says so and exits 0 (the suites are skipped, not failed).
set -eu
# A fresh Debian machine (as root): install Debian's PostgreSQL, as .ci/run does.
sh "$(dirname "$0")/debian-install.sh" pg_virtualenv postgresql
if ! command -v pg_virtualenv >/dev/null 2>&1; then
  echo "PostgreSQL not installed: skipping the PostgreSQL suites (apt-get install -y postgresql)"
  exit 0
fi
if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi
export ASSENT_TEST_POSTGRES=1
# -t: the cluster lives in a temporary directory even as root, so several runs (or a cluster
# named "regress" left by another tool) never collide. Every node and test vault holds its own
# connection pool: allow more connections than the default 100.
exec pg_virtualenv -t -o max_connections=400 "$@"
