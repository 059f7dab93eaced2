#!/bin/bash
# test_harness_failures.sh - failed requests count in apibench run's latency, on
# 127.0.0.1:18513-18514 (tests/integration/delay_server.c).
#
# A request that fails (timeout, refused connection, never sent) enters "latency" as
# max(its time since the intended send, --timeout-ms); "latency_answered" keeps the
# responses only, so latency.count = completed + failed. Also: the per-second timeline
# adds up to the run's totals, decoded sizes are null unless --decode, and --busy-poll
# runs a normal load.
set -u
BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
APIBENCH=${APIBENCH:-$BUILD_DIR/apibench}
DELAY_SERVER=${DELAY_SERVER:-$BUILD_DIR/tests/apibench-delay-server}
PORT=18513
KILL_PORT=18514
TMP=$(mktemp -d /tmp/apibench-failures-test.XXXXXX)
PIDS=()
FAILS=0

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
check() { # check "description" file python-expression-over-d (d = the results JSON)
    local desc=$1 file=$2 expr=$3
    if [ ! -f "$file" ]; then fail "$desc (no $file)"; return; fi
    if python3 - "$file" "$expr" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ok = eval("(" + sys.argv[2] + "\n)")
if not ok:
    print("   observed: latency %s / answered %s / errors %s / completed %s" % (
        d.get("latency"), d.get("latency_answered"), d.get("errors"), d.get("completed")),
        file=sys.stderr)
sys.exit(0 if ok else 1)
PY
    then pass "$desc"; else fail "$desc"; fi
}

start_server() { # port delay threads -> pid in LAST_PID
    "$DELAY_SERVER" --port "$1" --delay-ms "$2" --threads "$3" >"$TMP/server.$1.log" 2>&1 &
    LAST_PID=$!
    PIDS+=($LAST_PID)
    for _ in $(seq 50); do
        grep -q ready "$TMP/server.$1.log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "FAIL delay server on port $1 did not start"; exit 1
}

for bin in "$APIBENCH" "$DELAY_SERVER"; do
    [ -x "$bin" ] || { echo "FAIL missing $bin (build first)"; exit 1; }
done
start_server $PORT 0 4
TARGET=http://127.0.0.1:$PORT

# --- timeouts: each counts in latency at >= its timeout, in latency_answered not at all
"$APIBENCH" run --target $TARGET --path '/x?delay_ms=1500' --rate 4 --warmup 0 --duration 1 \
    --timeout-ms 300 --quiet --out "$TMP/timeout/run" >"$TMP/timeout.out" 2>&1
check "timeouts: errors.timeout and error_rate" "$TMP/timeout/run.json" \
    'd["errors"]["timeout"] == 4 and d["error_rate"] == 1.0 and d["completed"] == 0'
check "timeouts: in latency at >= the timeout" "$TMP/timeout/run.json" \
    'd["latency"]["count"] == 4 and d["latency"]["min_ms"] >= 299.0
     and d["latency"]["max_ms"] < 1500'
check "timeouts: not in latency_answered" "$TMP/timeout/run.json" \
    'd["latency_answered"]["count"] == 0'
check "timeouts: timeline second 0 shows them" "$TMP/timeout/run.json" \
    'len(d["timeline"]) == 1 and d["timeline"][0]["due"] == 4 and d["timeline"][0]["errors"] == 4
     and d["timeline"][0]["responses"] == 0 and d["timeline"][0]["mean_ms"] >= 299.0'
grep -q "count in 'all' as at least --timeout-ms 300" "$TMP/timeout.out" \
    && pass "timeouts: the summary says how failures are counted" \
    || fail "timeouts: the summary says how failures are counted"

# --- requests never sent (backlog full): at >= the timeout too; count = due
"$APIBENCH" run --target $TARGET --path '/x?delay_ms=50' --rate 200 --connections 1 \
    --backlog 5 --timeout-ms 1000 --warmup 0 --duration 1 --quiet --out "$TMP/backlog/run" \
    >"$TMP/backlog.out" 2>&1
check "backlog: never-sent requests in latency at >= the timeout" "$TMP/backlog/run.json" '
d["errors"]["backlog"] > 100 and d["latency"]["count"] == d["due"] == 200
and d["latency"]["p50_ms"] >= 999.0
and d["latency_answered"]["count"] == d["completed"]
and d["latency_answered"]["max_ms"] < 1000'

# --- refused connections (the server dies mid-run): latency.count = completed + failed
start_server $KILL_PORT 0 4
kill_pid=$LAST_PID
"$APIBENCH" run --target http://127.0.0.1:$KILL_PORT --path /x --rate 100 --connections 4 \
    --timeout-ms 250 --warmup 0 --duration 3 --quiet --out "$TMP/dies/run" >"$TMP/dies.out" 2>&1 &
run_pid=$!
sleep 1.5
kill "$kill_pid"
wait "$kill_pid" 2>/dev/null
wait $run_pid
check "server gone: connect (and other) failures counted" "$TMP/dies/run.json" \
    'd["errors"]["connect"] + d["errors"]["other"] > 50 and d["completed"] > 50'
check "server gone: latency.count = completed + failed" "$TMP/dies/run.json" '
d["latency"]["count"] == d["completed"] + d["errors"]["total"] - d["errors"]["http_4xx"]
    - d["errors"]["http_5xx"]
and d["latency_answered"]["count"] == d["completed"]
and d["latency"]["count"] == d["due"]'
check "server gone: failures at >= 250 ms, responses fast" "$TMP/dies/run.json" \
    'd["latency"]["max_ms"] >= 249.0 and d["latency_answered"]["max_ms"] < 249.0
     and d["latency"]["p99_ms"] >= 249.0'
check "server gone: the timeline shows the change over time" "$TMP/dies/run.json" '
len(d["timeline"]) == 3 and d["timeline"][0]["errors"] == 0 and d["timeline"][0]["responses"] == 100
and d["timeline"][2]["responses"] == 0 and d["timeline"][2]["errors"] == 100
and d["timeline"][2]["mean_ms"] >= 249.0 and d["timeline"][0]["mean_ms"] < 100'

# --- a healthy run: timeline sums match; decoded sizes not measured without --decode
"$APIBENCH" run --target $TARGET --path /x --rate 50 --warmup 0.5 --duration 3 --quiet \
    --out "$TMP/ok/run" >"$TMP/ok.out" 2>&1
check "timeline: one entry per second, sums match the totals" "$TMP/ok/run.json" '
[e["t_s"] for e in d["timeline"]] == [0, 1, 2]
and sum(e["due"] for e in d["timeline"]) == d["due"] == 150
and sum(e["responses"] for e in d["timeline"]) == d["completed"] == 150
and all(e["errors"] == 0 and 0 < e["mean_ms"] <= e["max_ms"] for e in d["timeline"])
and abs(max(e["max_ms"] for e in d["timeline"]) - d["latency"]["max_ms"]) < 0.01 * d["latency"]["max_ms"] + 0.01'
check "no failures: latency and latency_answered agree" "$TMP/ok/run.json" \
    'd["latency"] == d["latency_answered"]'
check "without --decode: decoded sizes are null (not measured)" "$TMP/ok/run.json" \
    'd["bytes"]["body_decoded"] is None and d["bytes"]["mean_body_decoded"] is None
     and d["routes"]["path"]["body_bytes_decoded"] is None and d["bytes"]["body_wire"] > 0
     and d["config"]["decode"] is False and d["config"]["busy_poll"] is False'
[ -s "$TMP/ok/run.latency_answered.hgrm" ] && pass "latency_answered.hgrm written" \
    || fail "latency_answered.hgrm written"

# --- --decode measures decoded sizes; --busy-poll runs the same load
"$APIBENCH" run --target $TARGET --path /x --rate 50 --warmup 0.5 --duration 2 --quiet \
    --decode --busy-poll --out "$TMP/decode/run" >"$TMP/decode.out" 2>&1
check "--decode: decoded sizes measured (identity: equal to the wire)" "$TMP/decode/run.json" \
    'd["bytes"]["body_decoded"] == d["bytes"]["body_wire"] > 0 and d["config"]["decode"] is True'
check "--busy-poll: every request answered" "$TMP/decode/run.json" \
    'd["config"]["busy_poll"] is True and d["completed"] == d["due"] == 100
     and d["errors"]["total"] == 0'

[ $FAILS -eq 0 ] && echo "all passed" || echo "$FAILS check(s) failed"
exit $(( FAILS > 0 ))
