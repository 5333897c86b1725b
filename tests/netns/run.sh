#!/usr/bin/env bash
# Weft across real network stacks: three hosts in network namespaces on a
# bridge (addresses in 198.18.0.0/24, which this script owns), each running
# weftd. They must find each other by real UDP broadcast on their veth and
# move messages. Everything created here is removed on exit; only processes
# this script started are stopped, by PID. Nothing touches the machine's real
# interfaces.
#
# Usage: tests/netns/run.sh [BUILD_DIR]     (default: build)
# Prints a skip and exits 0 when not root or when `ip netns` does not work.
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
weftd=$(cd "$build" && pwd)/cli/weftd
weft=$(cd "$build" && pwd)/cli/weft

if [ "$(id -u)" -ne 0 ]; then
    echo "netns: SKIP (needs root to create network namespaces)"; exit 0
fi
probe="weftprobe$$"
if ! ip netns add "$probe" 2>/dev/null; then
    echo "netns: SKIP ('ip netns add' does not work here)"; exit 0
fi
ip netns del "$probe"

tag="w$$"                       # prefix of everything we create (interface names <= 15 chars)
bridge="${tag}br"
work=$(mktemp -d /tmp/weft-netns-XXXXXX)
pids=()
passed=0
failed=0

cleanup () {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    for i in 1 2 3; do ip netns del "${tag}n$i" 2>/dev/null; done
    ip link del "$bridge" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

check () {    # check NAME COMMAND...
    local name=$1; shift
    if "$@"; then echo "netns: PASS $name"; passed=$((passed + 1))
    else echo "netns: FAIL $name"; failed=$((failed + 1)); fi
}

# wait_for FILE PATTERN COUNT SECONDS: until FILE has COUNT lines matching
# PATTERN (follows the file as it grows; gives up after SECONDS)
wait_for () {
    [ "$(grep -c -- "$2" < <(timeout "$4" tail -n +1 -f "$1" | grep -m "$3" -- "$2"))" -ge "$3" ]
}

ip link add "$bridge" type bridge
ip link set "$bridge" up
for i in 1 2 3; do
    ns="${tag}n$i"
    ip netns add "$ns"
    ip link add "${tag}v$i" type veth peer name "${tag}p$i"
    ip link set "${tag}p$i" netns "$ns"
    ip link set "${tag}v$i" master "$bridge" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "198.18.0.$((10 + i))/24" brd 198.18.0.255 dev "${tag}p$i"
    ip -n "$ns" link set "${tag}p$i" up
done

cluster="netns-$$"
for i in 1 2 3; do
    ip netns exec "${tag}n$i" "$weftd" --name "host$i" --interface "${tag}p$i" \
        --cluster "$cluster" --beacon-port 5760 --events --sub 'netns.#' \
        > "$work/out$i" 2> "$work/err$i" &
    pids+=($!)
done

for i in 1 2 3; do
    check "host$i sees two peers join by broadcast" wait_for "$work/out$i" '^join ' 2 10
done
ip netns exec "${tag}n1" "$weft" --interface "${tag}p1" --cluster "$cluster" --beacon-port 5760 \
    --json peers > "$work/peers" 2>&1
check "host1 lists host2 and host3 at their veth addresses" \
    grep -q 'tcp://198.18.0.12:.*tcp://198.18.0.13:\|tcp://198.18.0.13:.*tcp://198.18.0.12:' \
    <(tr -d '\n' < "$work/peers")

ip netns exec "${tag}n1" "$weft" --interface "${tag}p1" --cluster "$cluster" --beacon-port 5760 \
    --timeout 10 pub netns.hello "across namespaces" > "$work/pub" 2>&1
check "weft pub from host1 exits 0" test $? -eq 0
for i in 2 3; do
    check "host$i receives the message" wait_for "$work/out$i" 'msg topic=netns.hello' 1 10
done

kill -9 "${pids[2]}"
check "host1 sees host3 expire after kill -9" wait_for "$work/out1" '^expired name=host3' 1 5

echo "netns: $passed passed, $failed failed"
[ $failed -eq 0 ]
