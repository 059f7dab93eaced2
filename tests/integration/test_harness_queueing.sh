#!/bin/bash
# test_harness_queueing.sh - apibench run against a tiny server with a fixed delay and two
# worker slots (capacity about 200 req/s at 10 ms), on 127.0.0.1:18510-18512.
#
# Overloaded at 300 req/s through 4 connections, requests queue (mostly in the generator's
# backlog): the corrected latency (from the intended send time) must show it while the
# service time (from the actual send) stays near the 10 ms delay. At 100 req/s the two
# agree. Also: the results files, .hgrm spectra, the SLO exit code, closed loop, timeouts
# and a full backlog counted as errors, bad input and an unreachable target writing
# nothing, and SIGINT writing a partial result. No timing thresholds beyond these
# order-of-magnitude contrasts.
set -u
BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}
APIBENCH=${APIBENCH:-$BUILD_DIR/apibench}
DELAY_SERVER=${DELAY_SERVER:-$BUILD_DIR/tests/apibench-delay-server}
PORT=18510
SLOW_PORT=18511
DEAD_PORT=18512
TMP=$(mktemp -d /tmp/apibench-harness-test.XXXXXX)
PIDS=()
FAILS=0

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
check() { # check "description" python-expression-over-d (d = the results JSON)
    local desc=$1 file=$2 expr=$3
    if python3 - "$file" "$expr" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ok = eval("(" + sys.argv[2] + "\n)")
if not ok:
    print("   observed: latency %s / service %s / errors %s" % (
        d.get("latency"), d.get("service_time"), d.get("errors")), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
    then pass "$desc"; else fail "$desc"; fi
}

start_server() { # port delay threads
    "$DELAY_SERVER" --port "$1" --delay-ms "$2" --threads "$3" >"$TMP/server.$1.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do
        grep -q ready "$TMP/server.$1.log" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "FAIL delay server on port $1 did not start"; exit 1
}

for bin in "$APIBENCH" "$DELAY_SERVER"; do
    [ -x "$bin" ] || { echo "FAIL missing $bin (build first)"; exit 1; }
done
start_server $PORT 10 2
start_server $SLOW_PORT 0 2
TARGET=http://127.0.0.1:$PORT

# --- overload: queueing visible in corrected latency only; the SLO is breached
"$APIBENCH" run --target $TARGET --path /x --rate 300 --connections 4 --warmup 1 \
    --duration 5 --quiet --slo 'p99<50ms' --out "$TMP/over/run" >"$TMP/over.out" 2>&1
rc=$?
[ $rc -eq 1 ] && pass "breached slo exits 1" || fail "breached slo exits 1 (got $rc)"
check "overload: corrected p50 >> service p50" "$TMP/over/run.json" \
    'd["latency"]["p50_ms"] > 5 * d["service_time"]["p50_ms"]'
check "overload: corrected p99 >> service p50" "$TMP/over/run.json" \
    'd["latency"]["p99_ms"] > 10 * d["service_time"]["p50_ms"]'
check "overload: service time stays near the delay" "$TMP/over/run.json" \
    'd["service_time"]["p50_ms"] < 100'
check "overload: send lag holds the queueing" "$TMP/over/run.json" \
    'd["send_lag"]["p50_ms"] > 5 * d["service_time"]["p50_ms"]'
check "overload: slo recorded as breached" "$TMP/over/run.json" \
    'd["slo"]["passed"] is False and d["slo"]["breaches"] == ["p99<50ms"]'
check "overload: achieved rate below intended" "$TMP/over/run.json" \
    'd["achieved_rate"] < 0.95 * d["intended_rate"]'

# --- well below capacity: the two agree
"$APIBENCH" run --target $TARGET --path /x --rate 100 --connections 4 --warmup 1 \
    --duration 4 --quiet --slo 'p99<5s,errors<1%' --out "$TMP/under/run" >"$TMP/under.out" 2>&1
rc=$?
[ $rc -eq 0 ] && pass "run below capacity exits 0" || fail "run below capacity exits 0 (got $rc)"
check "underload: corrected p50 close to service p50" "$TMP/under/run.json" \
    'abs(d["latency"]["p50_ms"] - d["service_time"]["p50_ms"]) < 0.2 * d["service_time"]["p50_ms"] + 2'
check "underload: every request answered" "$TMP/under/run.json" \
    'd["completed"] == d["sent"] == d["due"] == 400 and d["errors"]["total"] == 0'

# --- the results file has the documented fields
check "results JSON has the documented fields" "$TMP/under/run.json" '
all(k in d for k in ["format", "partial", "label", "config", "environment", "started_at",
    "finished_at", "measured_s", "intended_rate", "achieved_rate", "sent", "completed",
    "bytes_received", "errors", "error_rate", "latency", "latency_answered", "service_time",
    "send_lag", "routes", "slo", "timeline"])
and d["format"] == "apibench-run/1" and d["partial"] is False
and all(k in d["latency"] for k in ["count", "mean_ms", "stdev_ms", "min_ms", "p50_ms",
    "p90_ms", "p99_ms", "p999_ms", "p9999_ms", "max_ms"])
and all(k in d["environment"] for k in ["cpu_model", "cores", "memory_bytes", "kernel",
    "os", "libcurl"])
and all(k in d["errors"] for k in ["connect", "timeout", "http_4xx", "http_5xx", "other", "total"])
and d["config"]["rate"] == 100 and d["routes"]["path"]["count"] == 400
and d["bytes_received"] > 400 * 64'

# --- the .hgrm spectra parse: header, monotone rows, footer count = JSON count
for f in "$TMP/under/run.latency.hgrm" "$TMP/under/run.service.hgrm" \
         "$TMP/under/run.send_lag.hgrm" "$TMP/under/run.path.latency.hgrm"; do
    if python3 - "$f" 400 <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == "       Value     Percentile TotalCount 1/(1-Percentile)", lines[0]
rows = [l.split() for l in lines[2:] if l and not l.startswith("#")]
vals = [float(r[0]) for r in rows]; pcts = [float(r[1]) for r in rows]
cnts = [int(r[2]) for r in rows]
assert vals == sorted(vals) and pcts == sorted(pcts) and cnts == sorted(cnts)
assert pcts[-1] == 1.0 and cnts[-1] == int(sys.argv[2])
foot = [l for l in lines if l.startswith("#[")]
assert len(foot) == 3
assert int(re.search(r"Total count\s*=\s*(\d+)", foot[1]).group(1)) == int(sys.argv[2])
PY
    then pass "hgrm parses: $(basename "$f")"; else fail "hgrm parses: $(basename "$f")"; fi
done

# --- closed loop: each request is sent when the last one ends, so corrected = service
"$APIBENCH" run --target $TARGET --path /x --mode closed --connections 2 --warmup 0.5 \
    --duration 2 --quiet --out "$TMP/closed/run" >"$TMP/closed.out" 2>&1
rc=$?
[ $rc -eq 0 ] && pass "closed loop exits 0" || fail "closed loop exits 0 (got $rc)"
check "closed loop: latency equals service time, rate under capacity" "$TMP/closed/run.json" \
    'abs(d["latency"]["p50_ms"] - d["service_time"]["p50_ms"]) < 1 and d["intended_rate"] is None
     and 0 < d["achieved_rate"] < 250 and d["config"]["mode"] == "closed"'

# --- timeouts are errors, and latencies of at least the timeout (not answered ones);
# test_harness_failures.sh checks this rule in depth
"$APIBENCH" run --target http://127.0.0.1:$SLOW_PORT --path '/x?delay_ms=1500' --rate 4 \
    --warmup 0 --duration 1 --timeout-ms 300 --quiet --out "$TMP/timeout/run" \
    >"$TMP/timeout.out" 2>&1
check "timeouts counted in errors.timeout and in latency at >= the timeout" "$TMP/timeout/run.json" \
    'd["errors"]["timeout"] == 4 and d["latency"]["count"] == 4 and d["latency"]["min_ms"] >= 299
     and d["latency_answered"]["count"] == 0 and d["error_rate"] == 1.0'

# --- a full backlog: requests that cannot even wait are counted as errors, and said so
"$APIBENCH" run --target http://127.0.0.1:$SLOW_PORT --path '/x?delay_ms=50' --rate 200 \
    --connections 1 --backlog 5 --warmup 0 --duration 1 --quiet --out "$TMP/backlog/run" \
    >"$TMP/backlog.out" 2>"$TMP/backlog.err"
check "backlog overflow counted in errors.backlog" "$TMP/backlog/run.json" \
    'd["errors"]["backlog"] > 100 and d["due"] == 200
     and d["due"] == d["sent"] + d["errors"]["backlog"] + d["errors"]["unsent"]'
grep -q "were never sent (backlog" "$TMP/backlog.err" && pass "backlog overflow is reported" \
    || fail "backlog overflow is reported"

# --- bad input and an unreachable target: one line, non-zero, no results
expect_refusal() { # description expected-exit args...
    local desc=$1 want=$2; shift 2
    rm -rf "$TMP/bad"
    "$APIBENCH" run "$@" --out "$TMP/bad/run" >"$TMP/bad.out" 2>"$TMP/bad.err"
    local rc=$? lines
    lines=$(wc -l <"$TMP/bad.err")
    if [ $rc -eq "$want" ] && [ "$lines" -eq 1 ] && [ ! -e "$TMP/bad" ]; then
        pass "$desc: $(cat "$TMP/bad.err")"
    else
        fail "$desc (exit $rc, $lines lines, files: $(ls "$TMP/bad" 2>/dev/null))"
    fi
}
expect_refusal "unreachable target" 1 --target http://127.0.0.1:$DEAD_PORT --path /x --rate 10 --duration 1
grep -q "cannot connect to http://127.0.0.1:$DEAD_PORT" "$TMP/bad.err" \
    && pass "unreachable target names the target" || fail "unreachable target names the target"
expect_refusal "rate 0" 2 --target $TARGET --path /x --rate 0 --duration 1
expect_refusal "duration 0" 2 --target $TARGET --path /x --rate 5 --duration 0
expect_refusal "timeout 0" 2 --target $TARGET --path /x --rate 5 --duration 1 --timeout-ms 0
echo '{"routes": [{"route": "latests", "weight": 1}]}' >"$TMP/unknown.json"
expect_refusal "unknown route in mix" 2 --target $TARGET --mix "$TMP/unknown.json" --rate 5 --duration 1
echo '{"routes": [' >"$TMP/malformed.json"
expect_refusal "malformed mix" 2 --target $TARGET --mix "$TMP/malformed.json" --rate 5 --duration 1

# --- SIGINT mid-run: what was measured is written, marked partial, exit 130
"$APIBENCH" run --target $TARGET --path /x --rate 50 --warmup 0.5 --duration 30 --quiet \
    --out "$TMP/int/run" >"$TMP/int.out" 2>&1 &
run_pid=$!
sleep 2.5
kill -INT $run_pid
wait $run_pid
rc=$?
[ $rc -eq 130 ] && pass "SIGINT exits 130" || fail "SIGINT exits 130 (got $rc)"
check "SIGINT writes a partial result" "$TMP/int/run.json" \
    'd["partial"] is True and 0.5 < d["measured_s"] < 10 and d["completed"] > 0'
[ -s "$TMP/int/run.latency.hgrm" ] && pass "SIGINT writes the spectra" || fail "SIGINT writes the spectra"
leftover=$(find "$TMP/int" -name '*.tmp.*' | wc -l)
[ "$leftover" -eq 0 ] && pass "no temporary files left" || fail "$leftover temporary files left behind"

[ $FAILS -eq 0 ] && echo "all passed" || echo "$FAILS check(s) failed"
exit $(( FAILS > 0 ))
