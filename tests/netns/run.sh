#!/usr/bin/env bash
# Weft across real network stacks: three hosts in network namespaces on a
# bridge (addresses in 198.18.0.0/24, which this script owns), each running
# weftd (each with a journal). They must find each other by real UDP
# broadcast on their veth and move messages; a queue must keep every
# confirmed message across a partition of one host and its healing; a host
# paused past the expiry must be taken back, with every ring agreeing; a
# Raft queue must keep every confirmed message across a partition of its
# leader (1 + 2) and the heal, and the cut-off leader must confirm nothing.
# Everything created here is removed on exit; only processes this script
# started are stopped, by PID. Nothing touches the machine's real interfaces.
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

check () {    # check NAME COMMAND...: counts and prints the outcome, returns it
    local name=$1; shift
    if "$@"; then echo "netns: PASS $name"; passed=$((passed + 1))
    else echo "netns: FAIL $name"; failed=$((failed + 1)); return 1; fi
}

# wait_for FILE ERE COUNT SECONDS: until FILE has COUNT lines matching ERE.
# Follows the file as it grows (tail -F, bounded by timeout) and reads it
# with bash's read, one line at a time (grep -m N may wait for more input
# than the lines it needs); gives up after SECONDS.
wait_for () {
    local file=$1 re=$2 count=$3 secs=$4 n=0 line fd follower rc=1
    exec {fd}< <(exec timeout "$secs" tail -n +1 -F "$file" 2>/dev/null 3>&-)
    follower=$!
    while IFS= read -r line <&"$fd"; do
        if [[ $line =~ $re ]] && (( ++n >= count )); then rc=0; break; fi
    done
    kill "$follower" 2>/dev/null
    exec {fd}<&-
    return "$rc"
}

# weft_in I ARGS...: runs weft in host I's namespace, on its veth
weft_in () {
    local i=$1; shift
    ip netns exec "${tag}n$i" "$weft" --interface "${tag}p$i" --cluster "$cluster" \
        --beacon-port 5760 "$@"
}

# sent_all RC FILE N: weft send exited 0 and its --json output says N confirmed
sent_all () {
    [ "$1" -eq 0 ] && grep -q "\"confirmed\": $3," "$2"
}

# bodies FILE: the distinct bodies of weft recv --json output FILE, sorted
bodies () {
    grep -o '"body": "[^"]*"' "$1" | sed 's/^"body": "//; s/"$//' | sort -n -u
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
        --cluster "$cluster" --beacon-port 5760 --events --sub 'netns.#' --data "$work/data$i" \
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

# --- a queue across a partition --------------------------------------------
# A queue that host1 owns (found by trying names: each gets one message, "0",
# and `weft queues` tells its owner); 200 messages from host2; host1, the
# owner, cut off from the bridge; 200 more (two members remain: replication 2
# is still met); healed; host3 must receive every confirmed message
# (at-least-once: duplicates are counted, allowed).
for n in $(seq 1 12); do
    queue="netq-$n"
    weft_in 2 --timeout 30 send "$queue" 0 > "$work/probe" 2>&1 || break
    weft_in 2 --timeout 10 --json queues > "$work/probe" 2>&1
    grep -q "\"queue\": \"$queue\", \"owner\": \"host1\"" "$work/probe" && break
done
echo "netns: queue: $queue, owned by $(grep -o "\"queue\": \"$queue\", \"owner\": \"[^\"]*\"" \
    "$work/probe" | sed 's/.*"owner": //')"
seq 1 200 | weft_in 2 --timeout 30 --json send "$queue" > "$work/send1" 2>&1
check "host2 sends 200 messages to a queue, all confirmed" sent_all $? "$work/send1" 200

ip link set "${tag}v1" down
check "host2 sees host1 expire once it is cut off" wait_for "$work/out2" '^expired name=host1 ' 1 10
seq 201 400 | weft_in 2 --timeout 30 --json send "$queue" > "$work/send2" 2>&1
check "with host1 cut off, host2 sends 200 more, all confirmed" sent_all $? "$work/send2" 200
check "host1 sees host2 expire" wait_for "$work/out1" '^expired name=host2 ' 1 10

ip link set "${tag}v1" up
check "host1 sees host2 join again once healed" wait_for "$work/out1" '^join name=host2 ' 2 20
check "host1 sees host3 join again once healed" wait_for "$work/out1" '^join name=host3 ' 2 20
check "host2 sees host1 join again once healed" wait_for "$work/out2" '^join name=host1 ' 2 20
check "host3 sees host1 join again once healed" wait_for "$work/out3" '^join name=host1 ' 2 20

# duplicates take places of --count: ask again for what is still missing
: > "$work/recv"
for attempt in 1 2 3 4 5; do
    missing=$((401 - $(bodies "$work/recv" | wc -l)))
    [ "$missing" -gt 0 ] || break
    weft_in 3 --timeout 30 --json recv "$queue" --count "$missing" >> "$work/recv" \
        2>> "$work/recv.err" || break
done
if ! check "host3 receives every confirmed message (0..400) after the healing" \
    diff -q <(bodies "$work/recv") <(seq 0 400); then
    # what each member holds of the queue (owner, replica or holder)
    weft_in 3 --timeout 10 --json status 2>&1 |
        grep -o '{"name":"host[0-9]"\|{"name":"'"$queue"'"[^}]*}' | sed 's/^/netns: debug: /'
    sed 's/^/netns: debug: recv: /' "$work/recv.err"
fi
echo "netns: queue: $(wc -l < "$work/recv") deliveries of 401 messages," \
    "$(( $(wc -l < "$work/recv") - $(bodies "$work/recv" | wc -l) )) duplicates"
weft_in 3 --timeout 10 queues > "$work/queues" 2>&1
sed 's/^/netns: queue: /' "$work/queues"

# --- a member paused past the expiry is taken back -----------------------
# host2 stopped (SIGSTOP) 4 s, past the 2.5 s expiry: the others expire it;
# resumed, it must be taken back by both, and all three rings must agree.
kill -STOP "${pids[1]}"
check "host1 sees the paused host2 expire" wait_for "$work/out1" '^expired name=host2 ' 2 10
check "host3 sees the paused host2 expire" wait_for "$work/out3" '^expired name=host2 ' 1 10
timeout 4 tail -f /dev/null    # the pause lasts 4 s: the fault itself, nothing to wait for
kill -CONT "${pids[1]}"
check "host1 takes host2 back after its pause" wait_for "$work/out1" '^join name=host2 ' 3 20
check "host3 takes host2 back after its pause" wait_for "$work/out3" '^join name=host2 ' 2 20
# rings_agree: every member's status shows 3 ring members under one epoch
rings_agree () {
    local json rings
    json=$(weft_in 1 --timeout 10 --json status 2>/dev/null) || return 1
    rings=$(grep -o '"ring":{"epoch":"[0-9a-f]*","members":\[[^]]*\]' <<< "$json")
    [ "$(grep -c . <<< "$rings")" -eq 3 ] &&
        [ "$(awk -F'"uuid"' '{print NF - 1}' <<< "$rings" | sort -u)" = 3 ] &&
        [ "$(grep -o '"epoch":"[0-9a-f]*"' <<< "$rings" | sort -u | wc -l)" -eq 1 ]
}
agreed=1
for attempt in $(seq 1 20); do rings_agree && { agreed=0; break; }; done
check "after the pause, all three rings agree" test $agreed -eq 0

# --- a durable stream through its publisher's pause ------------------------
# A durable publisher on host1 (its own weftd, stdin on netns.d.x); a named
# durable subscriber on host3 (weft sub --durable) gets 1..300 in order; the
# publisher is paused past the expiry after 150 and resumed: the subscriber
# goes on from 151 - no message again, none missing, nothing backwards.
mkfifo "$work/dpub.in"
ip netns exec "${tag}n1" "$weftd" --name dpub --interface "${tag}p1" --cluster "$cluster" \
    --beacon-port 5760 --events --data "$work/dpub" --durable 'netns.d.#' --pub netns.d.x \
    < "$work/dpub.in" > "$work/dpubout" 2> "$work/dpuberr" &
pids+=($!)
exec {dpub_in}> "$work/dpub.in"
check "the durable publisher starts" wait_for "$work/dpubout" '^ready ' 1 10
weft_in 3 --timeout 60 --json --data "$work/dsub" sub 'netns.d.#' --durable dsub \
    --from earliest --count 300 > "$work/dsubout" 2> "$work/dsuberr" &
dsub=$!
pids+=($dsub)
check "host3 sees the durable publisher join" wait_for "$work/out3" '^join name=dpub ' 1 10
seq 1 150 >&"$dpub_in"
check "the durable subscriber gets the first 150" wait_for "$work/dsubout" '"seq": ' 150 20
kill -STOP "${pids[-2]}"
check "host3 sees the paused publisher expire" wait_for "$work/out3" '^expired name=dpub ' 1 10
kill -CONT "${pids[-2]}"
seq 151 300 >&"$dpub_in"
wait "$dsub"
check "the durable subscriber exits 0 after 300" test $? -eq 0
seqs=$(grep -o '"seq": [0-9]*' "$work/dsubout" | sed 's/.*: //')
check "it got 1..300 once each, in order, through the pause" \
    diff -q <(echo "$seqs") <(seq 1 300)
exec {dpub_in}>&-

# --- two clusters never merge ---------------------------------------------
# host3 killed with SIGKILL; at once a node of another cluster (its own beacon
# port) takes host3's address and ROUTER port, where the others' links
# reconnect and gossip may still lead: nobody of ours may take it.
port3=$(grep -o 'tcp://198.18.0.13:[0-9]*' "$work/peers" | head -n 1 | sed 's/.*://')
kill -9 "${pids[2]}"
wait "${pids[2]}" 2>/dev/null
ip netns exec "${tag}n3" "$weftd" --name intruder --interface "${tag}p3" --cluster "other-$$" \
    --beacon-port 5761 --port "$port3" --data "$work/intruder" > "$work/outx" 2> "$work/errx" &
pids+=($!)
check "host1 sees host3 expire after kill -9" wait_for "$work/out1" '^expired name=host3' 1 5
check "the other cluster's node got host3's port" wait_for "$work/outx" "^ready .*:$port3 " 1 10
merged=0
for attempt in $(seq 1 10); do   # ~25 intervals of watching: a negative has no event
    for i in 1 2; do
        weft_in "$i" --timeout 5 --json status 2>/dev/null | grep -q '"name":"intruder"' && merged=1
    done
done
check "two clusters on one network never merge" test $merged -eq 0

# --- a Raft queue across a partition 1 + 2, its leader on the minority side -
# Three more members, r1..r3 (queues.engine = raft, their own cluster and
# beacon port), one per namespace. The group's leader is found from status
# (queue_groups[].role), 200 messages confirmed, then the leader's host cut
# off: sends through it (its ROUTER as the one seed) confirm nothing; the two
# others elect a leader of their own and confirm 200 more; healed, all three
# agree on the leader and term again, and every confirmed message is received.
rcluster="netraft-$$"
rpids=()
for i in 1 2 3; do
    ip netns exec "${tag}n$i" "$weftd" --name "r$i" --interface "${tag}p$i" \
        --cluster "$rcluster" --beacon-port 5762 --events --data "$work/rdata$i" \
        --set queues.engine=raft --log-level info > "$work/rout$i" 2> "$work/rerr$i" &
    pids+=($!)
    rpids+=($!)
done
# weft_r I ARGS...: runs weft with the raft engine in host I's namespace
weft_r () {
    local i=$1; shift
    ip netns exec "${tag}n$i" "$weft" --interface "${tag}p$i" --cluster "$rcluster" \
        --beacon-port 5762 --set queues.engine=raft "$@"
}
# rgroup I QUEUE: "NAME ROLE LEADER TERM" of each member (status through host I)
rgroup () {
    weft_r "$1" --timeout 5 --json status 2>/dev/null | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    for g in m.get("queue_groups") or []:
        if g["name"] == sys.argv[1]:
            print(m["name"], g["role"], g["leader"] or "-", g["term"])' "$2"
}
# rleader I QUEUE: the name of the member that says it leads QUEUE (through I)
rleader () {
    rgroup "$1" "$2" | awk '$2 == "leader" { print $1 }'
}
# rwait_leader I QUEUE NOT SECONDS: waits until a member other than NOT leads
rwait_leader () {
    local end=$((SECONDS + $4)) who
    while [ $SECONDS -lt $end ]; do
        who=$(rleader "$1" "$2" | grep -v "^$3\$" | head -n 1)
        [ -n "$who" ] && { echo "$who"; return 0; }
    done
    return 1
}
# ragree I QUEUE COUNT: COUNT members answer, one leads, all name it with one term
ragree () {
    local view
    view=$(rgroup "$1" "$2")
    [ "$(grep -c . <<< "$view")" -eq "$3" ] &&
        [ "$(awk '$2 == "leader"' <<< "$view" | grep -c .)" -eq 1 ] &&
        [ "$(awk '{ print $3, $4 }' <<< "$view" | sort -u | wc -l)" -eq 1 ]
}
for i in 1 2 3; do
    check "r$i sees two raft members join" wait_for "$work/rout$i" '^join name=r' 2 10
done
rq="rq-$$"
weft_r 2 --timeout 30 send "$rq" 0 > "$work/rprobe" 2>&1
check "the raft queue takes its first message" test $? -eq 0
rlead=""
for attempt in $(seq 1 20); do rlead=$(rleader 2 "$rq"); [ -n "$rlead" ] && break; done
l=${rlead#r}
check "a raft member leads the queue" test -n "$rlead"
l=${l:-1}
m1=$(( l % 3 + 1 )); m2=$(( (l + 1) % 3 + 1 ))    # the majority side
echo "netns: raft: queue $rq, leader $rlead; majority r$m1 + r$m2"
seq 1 200 | weft_r "$m1" --timeout 30 --json send "$rq" > "$work/rsend1" 2>&1
check "r$m1 sends 200 messages, all confirmed" sent_all $? "$work/rsend1" 200

ip link set "${tag}v$l" down
check "r$m1 sees the leader's host expire once cut off" \
    wait_for "$work/rout$m1" "^expired name=r$l " 1 10
router=$(grep -o 'router=tcp://[0-9.:]*' "$work/rout$l" | head -n 1 | sed 's/router=//')
seq 1001 1050 | weft_r "$l" --node "$router" --timeout 6 --json send "$rq" > "$work/rsendx" 2>&1
minority=$(grep -o '"confirmed": [0-9]*' "$work/rsendx" | sed 's/.*: //')
echo "netns: raft: through the cut-off r$l: ${minority:-0} of 50 confirmed"
check "the cut-off former leader confirms nothing" test "${minority:-0}" -eq 0
newlead=$(rwait_leader "$m1" "$rq" "$rlead" 15)
check "the majority elects a new leader ($newlead)" test -n "$newlead"
seq 201 400 | weft_r "$m1" --timeout 30 --json send "$rq" > "$work/rsend2" 2>&1
check "with r$l cut off, r$m1 sends 200 more, all confirmed" sent_all $? "$work/rsend2" 200

ip link set "${tag}v$l" up
check "r$l sees r$m1 join again once healed" wait_for "$work/rout$l" "^join name=r$m1 " 2 20
check "r$m1 sees r$l join again once healed" wait_for "$work/rout$m1" "^join name=r$l " 2 20
agreed=1
end=$((SECONDS + 20))
while [ $SECONDS -lt $end ]; do ragree "$m1" "$rq" 3 && { agreed=0; break; }; done
check "after the heal, one leader and one term for all three" test $agreed -eq 0 ||
    rgroup "$m1" "$rq" | sed 's/^/netns: raft: debug: /'
# rcaught_up I QUEUE: the leader's lag is 0 for both followers
rcaught_up () {
    weft_r "$1" --timeout 5 --json status 2>/dev/null | python3 -c '
import json, sys
lags = [g.get("lag") or {} for m in json.load(sys.stdin)
        for g in m.get("queue_groups") or [] if g["name"] == sys.argv[1] and g["role"] == "leader"]
sys.exit(0 if len(lags) == 1 and len(lags[0]) == 2 and max(lags[0].values()) == 0 else 1)' "$2"
}
caught=1
end=$((SECONDS + 15))
while [ $SECONDS -lt $end ]; do rcaught_up "$m1" "$rq" && { caught=0; break; }; done
check "the healed r$l catches up with the leader (lag 0)" test $caught -eq 0
: > "$work/rrecv"
for attempt in 1 2 3 4 5; do
    missing=$(comm -23 <(seq 0 400 | sort) <(bodies "$work/rrecv" | sort) | wc -l)
    [ "$missing" -gt 0 ] || break
    weft_r "$m2" --timeout 20 --json recv "$rq" --count "$missing" >> "$work/rrecv" \
        2>> "$work/rrecv.err" || break
done
lost=$(comm -23 <(seq 0 400 | sort) <(bodies "$work/rrecv" | sort) | wc -l)
deliveries=$(grep -c '"body"' "$work/rrecv")
distinct=$(bodies "$work/rrecv" | wc -l)
echo "netns: raft: confirmed 401, delivered $distinct, lost $lost," \
    "duplicates $((deliveries - distinct)) (minority sends: 50, ${minority:-0} confirmed)"
check "every confirmed raft message (0..400) is received after the heal" test "$lost" -eq 0 ||
    sed 's/^/netns: raft: debug: recv: /' "$work/rrecv.err"

echo "netns: $passed passed, $failed failed"
[ $failed -eq 0 ]
