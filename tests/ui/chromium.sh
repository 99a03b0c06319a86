#!/bin/sh
# `make test` runs this before the suite: tests/ui/ drives the web view in Debian's chromium (the playwright
# package's driver, never a downloaded browser). On CI as root a missing chromium is installed from Debian;
# anywhere else nothing is installed and those tests skip, saying how to install it.
set -u
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0
if [ "${CI:-}" = "true" ] && [ "$(id -u)" -eq 0 ]; then
    echo "tests/ui: installing chromium (apt-get)"
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
        exit 0
    fi
    echo "tests/ui: chromium could not be installed; the web view's tests will skip" >&2
    exit 0
fi
echo "tests/ui: $CHROMIUM is missing, so the web view's tests will skip (install it with: apt-get install -y chromium)"
