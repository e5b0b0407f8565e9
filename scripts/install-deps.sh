#!/usr/bin/env bash
# `make deps`: installs the Debian packages the build, the tests and local runs need, only those
# that are missing (so a warm machine does no network at all).
set -euo pipefail

packages=(mosquitto mosquitto-clients libmosquitto-dev libsqlite3-dev libcurl4-openssl-dev libmicrohttpd-dev pkg-config)

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system; install the equivalents of: ${packages[*]}" >&2
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all installed"
    exit 0
fi

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

# Without systemd (containers, CI) the mosquitto package's init script would start a broker on port
# 1883 as soon as it is installed. We never use that broker: hold service starts back for the install.
policy=/usr/sbin/policy-rc.d
if [ ! -d /run/systemd/system ] && [ ! -e "$policy" ]; then
    $sudo sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 0755 $policy"
    trap '$sudo rm -f "$policy"' EXIT
fi

echo "deps: installing ${missing[*]}"
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
