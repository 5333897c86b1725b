#!/usr/bin/env bash
# Runs every Weft test:
#   0. the layout check (scripts/check_layout.py);
#   1. the plain build (RelWithDebInfo) and its ctest suite, which includes the
#      unit tests through the fake core and the simulator's bounded sweeps of
#      real Weft nodes (tests/sim, docs/ARCHITECTURE.md);
#   2. the Python and Go bindings against that build;
#   3. the ASan+UBSan build and its ctest suite, failing on any sanitizer
#      report (Criterion does not fail a test on a LeakSanitizer report, so
#      the output is searched for one);
#   4. the network-namespace tests (when root and `ip netns` work; otherwise
#      a printed skip).
# Usage: scripts/test.sh [--quick]   (--quick: steps 1 and 2 only)
# Exit status: 0 only when every test passed.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-bindings || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
status=0
logs=$(mktemp -d /tmp/weft-test-XXXXXX)

# build NAME DIR CMAKE-ARGS...: configure and build, quietly unless it fails
build () {
    local name=$1 dir=$2; shift 2
    echo "=== $name: configure and build ($dir)"
    if ! cmake -S . -B "$dir" "$@" > "$logs/$name-cmake.log" 2>&1 ||
       ! cmake --build "$dir" -j"$jobs" > "$logs/$name-build.log" 2>&1; then
        cat "$logs/$name-cmake.log" "$logs/$name-build.log" | tail -n 60
        echo "=== $name: BUILD FAILED"
        status=1
        return 1
    fi
}

# suite NAME DIR: run ctest in DIR, keeping the whole output in the logs
suite () {
    local name=$1 dir=$2
    echo "=== $name: ctest"
    (cd "$dir" && ctest --output-on-failure -j2 --timeout 600 -V) > "$logs/$name-ctest.log" 2>&1
    local rc=$?
    grep -E "^[0-9]+/[0-9]+ Test|tests passed|Synthesis" "$logs/$name-ctest.log" | grep -v "^$" | tail -n 40
    if [ $rc -ne 0 ]; then
        grep -B5 -A30 -E "Assertion Failed|\*\*\*Failed|CRASH" "$logs/$name-ctest.log" | head -n 120
        echo "=== $name: FAILED"
        status=1
    fi
}

echo "=== layout: rooms, doors, include cycles, file and folder sizes (docs/ARCHITECTURE.md)"
python3 scripts/check_layout.py || { echo "=== layout: FAILED"; status=1; }

if build plain build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    suite plain build
    echo "=== bindings"
    if [ -x bindings/test.sh ]; then
        bindings/test.sh build || { echo "=== bindings: FAILED"; status=1; }
    else
        echo "bindings: SKIP (no bindings/test.sh)"
    fi
fi

if [ "${1:-}" != "--quick" ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    if build asan build-asan -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=ON -DWEFT_BENCH=OFF; then
        suite asan build-asan
        if grep -qE "ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:" "$logs/asan-ctest.log"; then
            grep -B2 -A25 -E "ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:" \
                "$logs/asan-ctest.log" | head -n 80
            echo "=== asan: sanitizer reports found: FAILED"
            status=1
        fi
    fi
    unset ASAN_OPTIONS UBSAN_OPTIONS
    echo "=== network namespaces"
    if [ -d build/cli ]; then
        tests/netns/run.sh build || { echo "=== network namespaces: FAILED"; status=1; }
    fi
fi

echo "=== logs in $logs"
if [ $status -eq 0 ]; then echo "=== all test suites passed"; else echo "=== some tests FAILED"; fi
exit $status
