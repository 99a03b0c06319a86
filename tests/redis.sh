#!/bin/sh
# `make test` runs this before the suite: tests/shared/ start Debian's redis-server themselves (a free port, a
# temporary folder; never the system's service). On CI as root a missing redis-server is installed from Debian;
# anywhere else nothing is installed and those tests skip, saying how to install it.
set -u
REDIS=/usr/bin/redis-server
[ -x "$REDIS" ] && exit 0
if [ "${CI:-}" = "true" ] && [ "$(id -u)" -eq 0 ]; then
    echo "tests/shared: installing redis-server (apt-get)"
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; then
        exit 0
    fi
    echo "tests/shared: redis-server could not be installed; the shared-state tests will skip" >&2
    exit 0
fi
echo "tests/shared: $REDIS is missing, so the shared-state tests will skip (install it with: apt-get install -y redis-server)"
