#!/bin/bash
# test_capacity.sh - `apibench capacity` against the delay server (tests/integration/
# delay_server.c) with a 20 ms delay and 2 worker slots: capacity 2 / 20 ms = 100 req/s,
# beyond which requests queue and p99 grows by the second. On 127.0.0.1:18530 (18531:
# nothing listens). About 40 s.
#
# Checks: a real search brackets the known capacity within reason (p99 < 100 ms leaves
# 80 ms of queueing, a few req/s above 100 over a 3 s probe), within the 5% tolerance and
# confirmed or moved; every probe's run JSON and spectra and capacity.json are written in
# the documented shape; --check agrees with the probes; a ceiling the server holds ends as
# "limited by the generator"; bad usage and an unreachable target write nothing; SIGINT
# writes capacity.json marked partial and exits 130.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

APIBENCH=$(require_bin apibench)
DELAY_SERVER=$(require_bin tests/apibench-delay-server)
PORT=18530
DEAD_PORT=18531
TARGET=http://127.0.0.1:$PORT
TMP=$(mktemp -d /tmp/apibench-capacity-test.XXXXXX)
on_exit "rm -rf '$TMP'"

"$DELAY_SERVER" --port $PORT --delay-ms 20 --threads 2 >"$TMP/server.log" 2>&1 &
track_pid $!
for _ in $(seq 50); do
    grep -q ready "$TMP/server.log" 2>/dev/null && break
    sleep 0.1
done
grep -q ready "$TMP/server.log" || fail "delay server on port $PORT did not start"

# py FILE EXPR - evaluates the Python expression EXPR over d = the JSON in FILE.
py() {
    python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + "\n)") else 1)
PY
}

# --- the search: 50 -> 100 -> 200 (fails) -> bisection to 5% -> confirmation
note "capacity search against a 100 req/s server"
rc=0
"$APIBENCH" capacity --target $TARGET --path /x --start 50 --min-duration 2s \
    --min-requests 100 --probe-warmup 1s --slo-p99-ms 100 --max-probes 14 \
    --out "$TMP/search" >"$TMP/search.out" 2>"$TMP/search.err" || rc=$?
cat "$TMP/search.err" "$TMP/search.out"
check '[ $rc -eq 0 ]' "the search exits 0 with a bracket (got $rc)"
C=$TMP/search/capacity.json
check '[ -s "$C" ]' "capacity.json is written"
check 'py "$C" "d[\"format\"] == \"apibench-capacity/1\" and d[\"partial\"] is False
    and d[\"limited_by\"] == \"slo\" and d[\"found\"] is True and d[\"converged\"] is True
    and d[\"ceiling_rps\"] is None and d[\"tolerance\"] == 1.05
    and d[\"criteria\"][\"slo_p99_ms\"] == 100 and d[\"criteria\"][\"max_error_rate\"] == 0.01
    and d[\"criteria\"][\"min_served\"] == 0.95"' "capacity.json has the documented header"
check 'py "$C" "75 <= d[\"lower\"] < d[\"upper\"] <= 135 and d[\"upper\"] / d[\"lower\"] <= 1.05 + 1e-9"' \
    "the bracket encloses 100 req/s within reason: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["lower"], d["upper"])' "$C")"
check 'py "$C" "all(k in p for p in d[\"probes\"] for k in [\"n\", \"offered\", \"achieved\",
    \"requests\", \"duration_s\", \"p50_ms\", \"p99_ms\", \"mean_ms\", \"error_rate\", \"lag_p99_ms\",
    \"holds\", \"why\", \"file\", \"phase\"])
    and [p[\"n\"] for p in d[\"probes\"]] == list(range(1, len(d[\"probes\"]) + 1))
    and len(d[\"probes\"]) <= 14
    and d[\"probes\"][0][\"offered\"] == 50 and d[\"probes\"][0][\"phase\"] == \"exponential\"
    and d[\"probes\"][0][\"requests\"] == 100 and d[\"probes\"][0][\"holds\"]
    and any(p[\"phase\"] == \"bisect\" for p in d[\"probes\"])
    and any(not p[\"holds\"] and p[\"p99_ms\"] >= 100 for p in d[\"probes\"])"' \
    "the probes are listed in order, x2 then bisection"
check 'py "$C" "d[\"confirmed\"] is False or (d[\"probes\"][-1][\"phase\"] == \"confirm\"
    and d[\"probes\"][-1][\"holds\"] and d[\"probes\"][-1][\"offered\"] == d[\"lower\"])"' \
    "a confirmation at the lower bound ends a confirmed search"
check 'grep -q "^capacity: probe 1: 50 req/s for 2.0 s: holds (p99 " "$TMP/search.err"' \
    "one progress line per probe"
check 'grep -q "^capacity: \[" "$TMP/search.out"' "the bracket is printed"
# every probe is an apibench-run result of its own, as apibench run writes them
for f in $(python3 -c 'import json,sys; print(" ".join(p["file"] for p in json.load(open(sys.argv[1]))["probes"]))' "$C"); do
    base=${f%.json}
    check '[ -s "$TMP/search/$base.latency.hgrm" ] && [ -s "$TMP/search/$base.send_lag.hgrm" ]' \
        "$base has its spectra"
    check 'py "$TMP/search/$f" "d[\"format\"] == \"apibench-run/1\" and d[\"config\"][\"mode\"] == \"open\"
        and d[\"config\"][\"warmup_s\"] == 1 and d[\"measured_s\"] > 1.5"' "$f is a run result"
done
# --check agrees with the search's verdicts
python3 - "$C" >"$TMP/verdicts" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1]))["probes"]:
    print(p["file"], 0 if p["holds"] else 1)
PY
while read -r f want; do
    got=0
    "$APIBENCH" capacity --check "$TMP/search/$f" --slo-p99-ms 100 >"$TMP/check.out" 2>&1 || got=$?
    check '[ "$got" = "$want" ]' "--check $f exits $want as the search judged it (got $got: $(cat "$TMP/check.out"))"
done <"$TMP/verdicts"
got=0
"$APIBENCH" capacity --check "$TMP/search/probe-01.json" --slo-p99-ms 100 --max-lag-ms 0.000001 \
    >"$TMP/check.out" 2>&1 || got=$?
check '[ $got -eq 1 ] && grep -q "send-lag p99" "$TMP/check.out"' "--check --max-lag-ms judges the send lag"
got=0
"$APIBENCH" capacity --check "$TMP/nothing.json" >"$TMP/check.out" 2>&1 || got=$?
check '[ $got -eq 1 ]' "--check of a missing file exits 1"

# --- a ceiling the server holds: limited by the generator, no upper bound
note "a ceiling below capacity"
rc=0
"$APIBENCH" capacity --target $TARGET --path /x --start 40 --ceiling 50 --min-duration 1s \
    --min-requests 50 --probe-warmup 0.5s --slo-p99-ms 100 --out "$TMP/ceiling" \
    >"$TMP/ceiling.out" 2>&1 || rc=$?
check '[ $rc -eq 0 ]' "a search that reaches the ceiling exits 0 (got $rc)"
check 'py "$TMP/ceiling/capacity.json" "d[\"limited_by\"] == \"generator\" and d[\"lower\"] == 50
    and d[\"upper\"] is None and d[\"ceiling_rps\"] == 50
    and max(p[\"offered\"] for p in d[\"probes\"]) == 50"' "limited by the generator at the ceiling"
check 'grep -q "limited by the load generator" "$TMP/ceiling.out"' "the ceiling is said"

# --- bad usage and an unreachable target: one line, nothing written
for args in "--rate 10" "--duration 5" "--start 0" "--tolerance 1" "--bogus 1"; do
    rm -rf "$TMP/bad"
    rc=0
    # shellcheck disable=SC2086
    "$APIBENCH" capacity --target $TARGET --path /x --start 10 $args --out "$TMP/bad" \
        >"$TMP/bad.out" 2>"$TMP/bad.err" || rc=$?
    check '[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/bad.err")" -eq 1 ] && [ ! -e "$TMP/bad" ]' \
        "bad usage ($args) exits 2 with one line, writes nothing (got $rc: $(cat "$TMP/bad.err"))"
done
rc=0
"$APIBENCH" capacity --target http://127.0.0.1:$DEAD_PORT --path /x --start 10 --out "$TMP/bad" \
    >"$TMP/bad.out" 2>"$TMP/bad.err" || rc=$?
check '[ $rc -eq 1 ] && grep -q "cannot connect to http://127.0.0.1:$DEAD_PORT" "$TMP/bad.err" && [ ! -e "$TMP/bad" ]' \
    "an unreachable target fails before writing anything (got $rc)"

# --- SIGINT mid-search: capacity.json marked partial, exit 130
note "interrupting a search"
"$APIBENCH" capacity --target $TARGET --path /x --start 50 --min-duration 5s \
    --probe-warmup 0.5s --out "$TMP/int" >"$TMP/int.out" 2>&1 &
pid=$!
sleep 3
kill -INT $pid
rc=0
wait $pid || rc=$?
check '[ $rc -eq 130 ]' "SIGINT exits 130 (got $rc)"
check 'py "$TMP/int/capacity.json" "d[\"partial\"] is True and len(d[\"probes\"]) >= 1
    and d[\"probes\"][-1][\"holds\"] is False"' "SIGINT writes capacity.json marked partial"
check '[ "$(find "$TMP" -name "*.tmp.*" | wc -l)" -eq 0 ]' "no temporary files are left"

note "all passed"
