#!/usr/bin/env bash
# Installs the Debian packages Weft needs to build, test and demo, when missing.
# Usage: scripts/setup.sh [--with-bindings] [--with-bench]   (idempotent; needs root or sudo)
#   --with-bindings  Python and Go, for the bindings' tests (scripts/test.sh)
#   --with-bench     nats-server and libnats-dev, for the JetStream baseline (bench_jetstream)
set -euo pipefail

packages=(build-essential cmake pkg-config libzmq3-dev libczmq-dev libmsgpack-dev
          libleveldb-dev libcriterion-dev libraft-dev libjansson-dev iproute2)
for arg in "$@"; do
    case "$arg" in
        --with-bindings) packages+=(python3 python3-pytest golang-go) ;;
        --with-bench) packages+=(nats-server libnats-dev) ;;
        *) echo "setup: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
