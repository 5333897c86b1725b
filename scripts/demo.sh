#!/usr/bin/env bash
# scripts/demo.sh - a three-node Weft fabric on this machine, in well under a minute.
#
# Installs what is missing (scripts/setup.sh), builds weftd and weft (Release,
# in build-demo/), then shows on loopback only:
#   1. three weftd member nodes discover each other (their join lines)
#   2. weft peers and weft status
#   3. topic messages: weft pub -> weft sub and weftd --sub
#   4. a durable topic: journaled by its publisher, replayed to a late subscriber
#   5. queues (placeholder: skipped until weft send / weft recv exist)
#   6. a node stops with SIGTERM: its peers see it leave at once
#   7. a node is killed with kill -9: its peers declare it expired (~2.5 s)
#
# Nothing is broadcast on a real interface: every node runs with
# --interface lo, a cluster name and a UDP beacon port of its own. Waits are
# bounded (a followed log and `timeout`, or the CLI's own --timeout), never
# bare sleeps. On exit (also on failure or Ctrl-C) it stops only the
# processes it started, by PID, and removes its temporary directory.
#
# Usage: scripts/demo.sh [--no-build]
#   --no-build          use the binaries already in the build directory
#   WEFT_DEMO_BUILD=DIR build directory (default: build-demo)
# Exit status: 0 when every step worked; 1 with "demo: FAILED: ..." otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${WEFT_DEMO_BUILD:-build-demo}
do_build=1
case "${1:-}" in
    "") ;;
    --no-build) do_build=0 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
# the demo's own settings only: a WEFT_* variable of the caller (WEFT_CONFIG,
# WEFT_DISCOVERY_INTERFACE, ...) would otherwise reach every node
while IFS='=' read -r var _; do unset "$var"; done < <(env | grep '^WEFT_' || true)

# --- helpers -----------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-demo-XXXXXX")
started=()          # PIDs of every process this script started
declare -A pid_of   # node name -> weftd PID
t_start=$(date +%s%N)

now_ms () { echo $(( $(date +%s%N) / 1000000 )); }
section () { printf '\n== %s\n' "$*"; }
say () { printf '   %s\n' "$*"; }
show () { printf '   $ %s\n' "$*"; }                # a command, as the user would type it
indent () { sed 's/^/     /'; }                      # its output
prefix () { sed "s/^/     $1 | /"; }                 # a node's log line

# Stops what we started (TERM, then KILL after 3 s), removes the temp dir.
cleanup () {
    local rc=$?
    exec 3>&- 2>/dev/null || true
    for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${started[@]}"; do
        timeout 3 tail -s 0.1 --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT TERM

# fail MESSAGE: says what went wrong, with the end of every node's log; exits 1.
fail () {
    echo >&2
    echo "demo: FAILED: $*" >&2
    for f in "$tmp"/*.log "$tmp"/*.err; do
        [ -s "$f" ] || continue
        echo "---- ${f##*/} (last lines)" >&2
        tail -n 8 "$f" >&2
    done
    exit 1
}

# wait_for FILE ERE SECONDS [COUNT]: true once FILE has COUNT lines matching
# ERE (default 1). Follows the file as it grows (tail -F, bounded by timeout)
# and reads it with bash's read, which takes one line at a time: grep -m and
# awk may wait for more input than the lines they need.
wait_for () {
    local file=$1 re=$2 secs=$3 count=${4:-1} n=0 line fd follower rc=1
    exec {fd}< <(exec timeout "$secs" tail -n +1 -F "$file" 2>/dev/null 3>&-)
    follower=$!
    while IFS= read -r line <&"$fd"; do
        if [[ $line =~ $re ]] && (( ++n >= count )); then rc=0; break; fi
    done
    kill "$follower" 2>/dev/null || true     # timeout passes the TERM on to tail
    exec {fd}<&-
    return "$rc"
}

# wait_exit PID SECONDS: waits for our child PID to end (bounded), forgets it,
# and returns its exit status (124 if it is still running after SECONDS).
wait_exit () {
    local pid=$1 rc=0
    if ! timeout "$2" tail -s 0.1 --pid="$pid" -f /dev/null 2>/dev/null; then return 124; fi
    wait "$pid" 2>/dev/null || rc=$?
    local keep=()
    for p in "${started[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    started=("${keep[@]}")
    return "$rc"
}

# A UDP port for beacons that nothing on this host is using.
pick_port () {
    local p
    for _ in $(seq 20); do
        p=$(( 20000 + RANDOM % 20000 ))
        if ! command -v ss >/dev/null || ! ss -Huan "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"; return
        fi
    done
    echo $(( 20000 + $$ % 20000 ))
}

# --- 0. build ----------------------------------------------------------------

section "0. build (Release, in $build/)"
if [ "$do_build" = 1 ]; then
    scripts/setup.sh
    jobs=$(nproc 2>/dev/null || echo 2)
    # WEFT_WERROR=OFF: a new compiler's warning must not stop a demo
    # (scripts/test.sh builds with -Werror)
    if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWEFT_TESTS=OFF -DWEFT_BENCH=OFF \
               -DWEFT_WERROR=OFF &&
           cmake --build "$build" -j"$jobs" --target weftd weft_cli; } >"$tmp/build.out" 2>&1; then
        tail -n 30 "$tmp/build.out" >&2
        fail "the build failed (output above)"
    fi
fi
weftd=$PWD/$build/cli/weftd
weft=$PWD/$build/cli/weft
if [ ! -x "$weftd" ] || [ ! -x "$weft" ]; then
    fail "no $build/cli/weftd or $build/cli/weft (run without --no-build)"
fi
say "$("$weftd" --version)"

port=$(pick_port)
cluster="demo-$$"
net=(--interface lo --beacon-port "$port" --cluster "$cluster")
say "every node below runs with: ${net[*]}"
say "(loopback only, a private cluster and beacon port; written \$NET below)"

# The durable publisher of section 4 is alpha itself when weftd can publish
# (weftd --durable PATTERN --pub TOPIC, reading one message per line of a
# FIFO): by then every subscription has long reached it. With an older CLI
# it is a weft pub with a journal of its own, started in section 4.
if "$weftd" --help 2>/dev/null | grep -q -- '--pub TOPIC' &&
   "$weftd" --help 2>/dev/null | grep -q -- '--durable PATTERN'; then
    publisher=alpha
else
    publisher=orders
fi
mkfifo "$tmp/orders.fifo"

# start_node NAME [FLAG...]: a weftd member with a journal, printing events
# and messages; stdin is the FIFO when it is the durable publisher. Fd 3 is
# our end of the FIFO: no process we start in the background may hold it,
# or the publisher would never see the end of its input.
start_node () {
    local name=$1 input=/dev/null
    shift
    [ "$name" = "$publisher" ] && input=$tmp/orders.fifo
    "$weftd" --name "$name" "${net[@]}" --data "$tmp/$name" --events --sub 'demo.#' --sub 'orders.#' \
        "$@" <"$input" >"$tmp/$name.log" 2>"$tmp/$name.err" 3>&- &
    pid_of[$name]=$!
    started+=($!)
}

# --- 1. discovery ------------------------------------------------------------

section "1. three nodes discover each other"
nodes=(alpha beta gamma)
t0=$(now_ms)
if [ "$publisher" = alpha ]; then
    show "weftd --name alpha \$NET --data \$TMP/alpha --events --sub 'demo.#' --sub 'orders.#' \\"
    show "      --durable 'orders.#' --pub orders.new < FIFO &     (alpha also publishes, in section 4)"
    start_node alpha --durable 'orders.#' --pub orders.new
    exec 3>"$tmp/orders.fifo"
else
    show "weftd --name alpha \$NET --data \$TMP/alpha --events --sub 'demo.#' --sub 'orders.#' &"
    start_node alpha
fi
show "weftd --name beta  ... &    weftd --name gamma ... &     (the same flags)"
start_node beta
start_node gamma
for n in "${nodes[@]}"; do
    wait_for "$tmp/$n.log" '^ready ' 10 || fail "weftd $n did not start: $(head -c 300 "$tmp/$n.err")"
done
for n in "${nodes[@]}"; do
    wait_for "$tmp/$n.log" '^join name=(alpha|beta|gamma) ' 10 2 || fail "$n did not see both other nodes join"
done
t1=$(now_ms)
for n in "${nodes[@]}"; do
    grep -E '^ready |^join name=(alpha|beta|gamma) ' "$tmp/$n.log" | sed -E 's/ (router|pub)=[^ ]*//g' | prefix "$n"
done
say "each node saw the two others join $(( t1 - t0 )) ms after the first start"
say "(a new node beacons at once; a node that hears a beacon answers with HELLO + PEERS)"

# --- 2. peers and status -----------------------------------------------------

section "2. who is there: weft peers, weft status"
show "weft \$NET peers"
"$weft" "${net[@]}" peers >"$tmp/peers.out" 2>"$tmp/peers.err" || fail "weft peers: $(cat "$tmp/peers.err")"
indent <"$tmp/peers.out"
[ "$(grep -cE '^(alpha|beta|gamma) .* alive' "$tmp/peers.out")" -eq 3 ] || fail "weft peers did not list 3 alive members"
show "weft \$NET status        (abridged: one line per member, asked over the network)"
"$weft" "${net[@]}" status >"$tmp/status.out" 2>"$tmp/status.err" || fail "weft status: $(cat "$tmp/status.err")"
awk '{ line = $1; for (i = 2; i <= NF; i++) if ($i ~ /^(role|uptime_ms|peers|subscriptions|received)=/) line = line " " $i; print line }' \
    "$tmp/status.out" | sort | indent
say "(weft itself is a short-lived 'client' node; members count it as a peer while it runs)"

# --- 3. topics ---------------------------------------------------------------

section "3. topic messages (volatile: at-most-once, in order per publisher)"
show "weft \$NET --name watcher sub 'demo.#' --count 2 &"
"$weft" "${net[@]}" --name watcher --timeout 20 sub 'demo.#' --count 2 \
    >"$tmp/watcher.out" 2>"$tmp/watcher.err" 3>&- &
watcher=$!
started+=("$watcher")
wait_for "$tmp/alpha.log" '^join name=watcher ' 10 || fail "the watcher did not join"
show "weft \$NET pub demo.greeting 'hello, fabric'"
"$weft" "${net[@]}" --name greeter pub demo.greeting 'hello, fabric' 2>"$tmp/pub.err" || fail "weft pub: $(cat "$tmp/pub.err")"
show "weft \$NET pub demo.weather 'sunny, 21 C'"
"$weft" "${net[@]}" --name greeter pub demo.weather 'sunny, 21 C' 2>"$tmp/pub.err" || fail "weft pub: $(cat "$tmp/pub.err")"
rc=0
wait_exit "$watcher" 20 || rc=$?
[ "$rc" -eq 0 ] || fail "weft sub exited with $rc: $(cat "$tmp/watcher.err")"
say "weft sub printed (TOPIC BODY):"
indent <"$tmp/watcher.out"
for n in "${nodes[@]}"; do
    wait_for "$tmp/$n.log" '^msg topic=demo\.' 5 2 || fail "weftd $n did not print both messages"
done
say "and each weftd --sub printed:"
for n in "${nodes[@]}"; do grep '^msg topic=demo\.' "$tmp/$n.log" | sed 's/ from=[^ ]*//' | prefix "$n"; done
say "(weft pub publishes once every peer it found is 'ready': its subscriptions have arrived)"

# --- 4. durable topic --------------------------------------------------------

section "4. a durable topic: journaled by its publisher, replayed to a late subscriber"
# The publisher journals durable topics and must stay up to serve replays.
if [ "$publisher" = orders ]; then
    show "weft \$NET --name orders --data \$TMP/orders --set durable.topics='orders.#' --timeout 0 pub orders.new < FIFO &"
    "$weft" "${net[@]}" --name orders --data "$tmp/orders" --set 'durable.topics=orders.#' \
        --timeout 0 pub orders.new <"$tmp/orders.fifo" >"$tmp/orders.log" 2>"$tmp/orders.err" &
    pid_of[orders]=$!
    started+=($!)
    exec 3>"$tmp/orders.fifo"
    say "(weft pub waits until every peer's subscriptions have reached it)"
else
    say "alpha publishes each line written to its stdin (weftd --pub); 'orders.#' is durable there"
fi
# feed LINE [NOTE]: one message to the publisher (in a subshell, so that a
# publisher gone early fails the demo instead of killing it with SIGPIPE)
feed () {
    say "> $1${2:+   $2}"
    ( printf '%s\n' "$1" >&3 ) 2>/dev/null || fail "the durable publisher is gone: $(cat "$tmp/$publisher.err")"
}
for i in 1 2 3; do feed "order $i"; done
wait_for "$tmp/beta.log" '^msg topic=orders\.new .*seq=3 ' 10 || fail "the durable messages did not arrive"
grep '^msg topic=orders\.' "$tmp/beta.log" | prefix beta
say "each was committed to the publisher's journal (LevelDB, fsync) before it was sent"
if "$weft" sub --help 2>/dev/null | grep -q -- '--from'; then
    show "weft \$NET --name latecomer sub 'orders.#' --from earliest --count 4"
    "$weft" "${net[@]}" --name latecomer --timeout 20 sub 'orders.#' --from earliest --count 4 \
        >"$tmp/late.out" 2>"$tmp/late.err" 3>&- &
    late=$!
    started+=("$late")
    wait_for "$tmp/late.out" 'order 3' 10 || fail "the late subscriber did not get the history: $(cat "$tmp/late.err")"
    feed "order 4" "(live, once the history has arrived)"
    rc=0
    wait_exit "$late" 20 || rc=$?
    [ "$rc" -eq 0 ] || fail "weft sub --from earliest exited with $rc: $(cat "$tmp/late.err")"
    indent <"$tmp/late.out"
    say "history (1-3), then the live message (4): no gap, no duplicate at the seam"
    if "$weft" sub --help 2>/dev/null | grep -q -- '--durable NAME'; then
        say "a named durable subscription keeps a cursor in its own journal and resumes:"
        show "weft \$NET sub 'orders.#' --durable audit --data \$TMP/audit --from earliest --count 4"
        "$weft" "${net[@]}" --name auditor --timeout 20 sub 'orders.#' --durable audit \
            --data "$tmp/audit" --from earliest --count 4 >"$tmp/audit1.out" 2>"$tmp/audit.err" ||
            fail "weft sub --durable audit: $(cat "$tmp/audit.err")"
        indent <"$tmp/audit1.out"
        feed "order 5" "(while no auditor runs)"
        show "weft \$NET sub 'orders.#' --durable audit --data \$TMP/audit --count 1"
        "$weft" "${net[@]}" --name auditor --timeout 20 sub 'orders.#' --durable audit \
            --data "$tmp/audit" --count 1 >"$tmp/audit2.out" 2>"$tmp/audit.err" ||
            fail "weft sub --durable audit (again): $(cat "$tmp/audit.err")"
        indent <"$tmp/audit2.out"
        grep -qx 'orders.new order 5' "$tmp/audit2.out" || fail "the durable subscription did not resume at order 5"
        say "it resumed right after the last message it had acknowledged"
    fi
else
    say "replay SKIPPED: this weft has no 'sub --from' yet (durable-topic CLI flags are"
    say "being added). In C it is: weft_subscribe_from (node, \"orders.#\", \"earliest\");"
    say "named, resumable subscriptions: weft_subscribe_durable (node, pattern, name, from, 1)."
fi
exec 3>&-
if [ "$publisher" = orders ]; then
    rc=0
    wait_exit "${pid_of[orders]}" 10 || rc=$?
    [ "$rc" -eq 0 ] || fail "the durable publisher exited with $rc: $(cat "$tmp/orders.err")"
else
    wait_for "$tmp/alpha.log" '^published ' 5 || fail "alpha did not report what it published"
    grep '^published ' "$tmp/alpha.log" | prefix alpha
    say "(stdin closed: alpha goes on running, and keeps its journal)"
    if "$weft" journal --help >/dev/null 2>&1; then
        show "weft \$NET journal        (the journal streams of every member)"
        "$weft" "${net[@]}" journal >"$tmp/journal.out" 2>"$tmp/journal.err" ||
            fail "weft journal: $(cat "$tmp/journal.err")"
        indent <"$tmp/journal.out"
    fi
fi

# --- 5. queues ---------------------------------------------------------------

section "5. queues: point-to-point, confirmed, acknowledged, replicated"
# The three members own queues (each has a journal). weft send returns only
# once the owner and its replica (2 copies by default) journaled the message;
# weft recv acknowledges each message after printing it.
show "weft \$NET send jobs 'resize photo 1'"
"$weft" "${net[@]}" --timeout 20 send jobs 'resize photo 1' >"$tmp/send1.out" 2>"$tmp/send.err" ||
    fail "weft send: $(cat "$tmp/send.err")"
say "confirmed (exit 0): journaled by the owner and one replica"
show "printf 'resize photo %s\\n' 2 3 4 5 | weft \$NET send jobs --json"
printf 'resize photo %s\n' 2 3 4 5 |
    "$weft" "${net[@]}" --timeout 20 --json send jobs >"$tmp/send2.out" 2>"$tmp/send.err" ||
    fail "weft send (stdin): $(cat "$tmp/send.err")"
indent <"$tmp/send2.out"
show "weft \$NET ring            (who owns what: rendezvous hashing over the live members)"
"$weft" "${net[@]}" --timeout 20 ring >"$tmp/ring.out" 2>"$tmp/ring.err" ||
    fail "weft ring: $(cat "$tmp/ring.err")"
indent <"$tmp/ring.out"
show "weft \$NET queues"
"$weft" "${net[@]}" --timeout 20 queues >"$tmp/queues1.out" 2>"$tmp/queues.err" ||
    fail "weft queues: $(cat "$tmp/queues.err")"
indent <"$tmp/queues1.out"
show "weft \$NET recv jobs --count 5"
"$weft" "${net[@]}" --timeout 20 recv jobs --count 5 >"$tmp/recv.out" 2>"$tmp/recv.err" ||
    fail "weft recv: $(cat "$tmp/recv.err")"
indent <"$tmp/recv.out"
for i in 1 2 3 4 5; do
    grep -qx "resize photo $i" "$tmp/recv.out" || fail "message 'resize photo $i' was not received"
done
say "each message once, in order, acknowledged after it was printed (at-least-once)"
show "weft \$NET queues          (depth 0: everything was acknowledged)"
"$weft" "${net[@]}" --timeout 20 queues >"$tmp/queues2.out" 2>"$tmp/queues.err" ||
    fail "weft queues: $(cat "$tmp/queues.err")"
indent <"$tmp/queues2.out"

# --- 6. leave ----------------------------------------------------------------

section "6. a node stops cleanly (SIGTERM): its peers see it leave at once"
show "kill -TERM <gamma>"
t0=$(now_ms)
kill -TERM "${pid_of[gamma]}"
for n in alpha beta; do
    wait_for "$tmp/$n.log" '^leave name=gamma ' 5 || fail "$n did not see gamma leave"
done
t1=$(now_ms)
rc=0
wait_exit "${pid_of[gamma]}" 5 || rc=$?
[ "$rc" -eq 0 ] || fail "weftd gamma exited with $rc after SIGTERM"
for n in alpha beta; do grep '^leave name=gamma ' "$tmp/$n.log" | prefix "$n"; done
say "gamma exited 0; alpha and beta saw it leave after $(( t1 - t0 )) ms (leaving beacon + BYE)"

# --- 7. crash ----------------------------------------------------------------

section "7. a node dies (kill -9): its peers declare it expired"
show "kill -9 <beta>"
t0=$(now_ms)
disown "${pid_of[beta]}"      # no "Killed" report from bash
kill -KILL "${pid_of[beta]}"
wait_for "$tmp/alpha.log" '^evasive name=beta ' 5 || fail "alpha did not report beta evasive"
t1=$(now_ms)
wait_for "$tmp/alpha.log" '^expired name=beta ' 5 || fail "alpha did not declare beta expired"
t2=$(now_ms)
wait_exit "${pid_of[beta]}" 5 || true      # disowned: only waits until it is gone
grep -E '^(evasive|expired) name=beta ' "$tmp/alpha.log" | prefix alpha
say "evasive after $(( t1 - t0 )) ms, expired after $(( t2 - t0 )) ms"
say "(defaults: beacons every 1 s, evasive after 1.5 s and expired after 2.5 s of silence)"

# --- done --------------------------------------------------------------------

section "done"
kill -TERM "${pid_of[alpha]}"
rc=0
wait_exit "${pid_of[alpha]}" 5 || rc=$?
[ "$rc" -eq 0 ] || fail "weftd alpha exited with $rc after SIGTERM"
say "every step worked in $(( ($(date +%s%N) - t_start) / 1000000000 )) s; stopping and cleaning up"
