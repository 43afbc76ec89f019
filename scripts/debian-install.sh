#!/bin/sh
# Installs Debian packages that `make test` needs and a fresh machine lacks, when it can (root
# with apt-get): `debian-install.sh COMMAND PACKAGE` installs PACKAGE unless COMMAND (a path or
# a name on PATH) is already there. Elsewhere it does nothing; the caller decides what a missing
# command means (the PostgreSQL suites are skipped, the browser tests fail).
set -eu
if [ "$#" -ne 2 ]; then
  echo "usage: $0 COMMAND PACKAGE" >&2
  exit 2
fi
command -v "$1" >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's $2 (for $1)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
fi
