#!/usr/bin/env bash
# Builds Weft in Release into build-bench and runs the benchmarks, printing their tables
# (the figures in docs/BENCHMARKS.md come from this command).
# Usage: scripts/bench.sh [--quick] [more bench_pubsub options, see bench_pubsub --help]
#   --quick   a run of about 20 s (CI smoke); without it about 2.5 min on 2 CPUs
#             (pub/sub ~15 s, journal ~25 s, durable topics ~50 s, queues ~65 s,
#             the JetStream baseline ~40 s when nats-server and libnats are installed:
#             scripts/setup.sh --with-bench; skipped with a message otherwise).
# Environment:
#   BENCH_BUILD_DIR  build directory (default build-bench)
#   WEFT_WERROR      ON to turn warnings into errors (default OFF here: -O3 makes GCC report
#                    maybe-uninitialized false positives; scripts/test.sh polices warnings)
# Every node the benchmarks start lives on loopback only (discovery.interface=lo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

dir=${BENCH_BUILD_DIR:-build-bench}
jobs=$(nproc 2>/dev/null || echo 2)
quick=""
for arg in "$@"; do
    [ "$arg" = "--quick" ] && quick="--quick"
done

targets=(bench_pubsub)
[ -f bench/bench_journal.c ] && targets+=(bench_journal)
[ -f bench/bench_durable.c ] && targets+=(bench_durable)
[ -f bench/bench_queue.c ] && targets+=(bench_queue)
[ -f bench/bench_restart.c ] && targets+=(bench_restart)
jetstream=""    # why the JetStream baseline is skipped, or empty
if ! command -v nats-server >/dev/null; then
    jetstream="nats-server is not installed"
elif ! pkg-config --exists libnats; then
    jetstream="libnats (libnats-dev) is not installed"
else
    targets+=(bench_jetstream)
fi

build () {    # configures and builds the benchmark targets in $dir
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DWEFT_CLI=OFF -DWEFT_TESTS=OFF \
          -DWEFT_WERROR="${WEFT_WERROR:-OFF}" || return 1
    for target in "${targets[@]}"; do
        cmake --build "$dir" -j"$jobs" --target "$target" || return 1
    done
}

echo "=== build: Release in $dir (log: $dir/bench-build.log)"
mkdir -p "$dir"
log="$dir/bench-build.log"
if ! build >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "=== build FAILED (full log: $log)"
    exit 1
fi

echo "=== machine"
echo "cpus:   $(nproc)"
echo "cpu:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "kernel: $(uname -sr)"
echo "load:   $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"

echo "=== pub/sub"
"$dir/bench/bench_pubsub" "$@"

if [ -x "$dir/bench/bench_journal" ]; then
    echo "=== journal"
    if [ -n "$quick" ]; then
        "$dir/bench/bench_journal" -d 20 -r 3    # 20 ms runs, median of 3
    else
        "$dir/bench/bench_journal"
    fi
fi

if [ -x "$dir/bench/bench_durable" ]; then
    echo "=== durable topics"
    "$dir/bench/bench_durable" $quick    # --quick: 20000 msgs x 3 runs, replay of 200000
fi

if [ -x "$dir/bench/bench_queue" ]; then
    echo "=== queues"
    "$dir/bench/bench_queue" $quick    # --quick: 5000 msgs x 1 run per row
fi

if [ -x "$dir/bench/bench_restart" ]; then
    echo "=== Raft queue restart"
    if [ -n "$quick" ]; then
        "$dir/bench/bench_restart" --messages 20000 --runs 1
    else
        "$dir/bench/bench_restart" --messages 1000000 --runs 3 --crash
    fi
fi

if [ -n "$jetstream" ]; then
    echo "=== JetStream baseline: skipped, $jetstream (scripts/setup.sh --with-bench installs it)"
else
    echo "=== JetStream baseline"
    "$dir/bench/bench_jetstream" $quick    # --quick: 5000 msgs x 1 run, 500 pings
fi
