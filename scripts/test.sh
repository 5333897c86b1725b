#!/usr/bin/env bash
# Runs every Weft test: the plain build, then the ASan+UBSan build, then the
# network-namespace tests (when root and `ip netns` work; otherwise a printed skip).
# Usage: scripts/test.sh [--quick]   (--quick: plain build only)
# Exit status: 0 only when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-bindings

jobs=$(nproc 2>/dev/null || echo 2)
status=0

run_suite () {    # run_suite NAME BUILD-DIR CMAKE-ARGS...
    local name=$1 dir=$2; shift 2
    echo "=== $name: configure and build ($dir)"
    cmake -S . -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" >/dev/null
    echo "=== $name: ctest"
    if ! (cd "$dir" && ctest --output-on-failure -j2 --timeout 600); then
        echo "=== $name: FAILED"
        status=1
    fi
}

run_suite "plain" build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${1:-}" != "--quick" ]; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite "asan+ubsan" build-asan -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=ON -DWEFT_BENCH=OFF
    echo "=== network namespaces"
    if ! tests/netns/run.sh build; then
        echo "=== network namespaces: FAILED"
        status=1
    fi
fi

if [ $status -eq 0 ]; then echo "=== all test suites passed"; else echo "=== some tests FAILED"; fi
exit $status
