#!/bin/bash
# test_segments_merge.sh - `apibench run --segment` and `apibench merge` against the
# harness's delay server (loopback, port 26520):
# - segments 0/2 and 1/2 (weights 3,1) of a constant 200 req/s started together with
#   --start-at send exactly the requests of the whole run (due counts 450 + 150 = 600),
#   and the merge sums counts, bytes and errors and states the union window;
# - merged percentiles lie between the segments' (a mixture's quantile does), and merging
#   one run alone gives back its own percentiles exactly;
# - closed loop: a segment runs its share of --connections;
# - refusals: bad --segment, --start-at in the past (exit 2, nothing written), a missing
#   run, and histograms of another configuration (exit 1, a clear message).
PORT=26520
TMP_NAME=segments
# shellcheck source=tests/integration/delay_common.sh
. "$(dirname "$0")/delay_common.sh"
"$DELAY_SERVER" --port $PORT --delay-ms 2 --threads 4 >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do grep -q ready "$TMP/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$TMP/server.log" || { echo "FAIL delay server did not start"; exit 1; }
TARGET=http://127.0.0.1:$PORT
RUN=("$APIBENCH" run --target "$TARGET" --path /x --warmup 0 --quiet)

# --- refusals before anything runs
for bad in "2/2" "1" "-1/2" "0/0"; do
    "${RUN[@]}" --rate 10 --duration 1 --segment "$bad" --out "$TMP/bad" 2>"$TMP/err"
    rc=$?
    if [ $rc -eq 2 ] && [ ! -e "$TMP/bad.json" ]; then pass "--segment $bad refused"
    else fail "--segment $bad: exit $rc"; fi
done
"${RUN[@]}" --rate 10 --duration 1 --segment 0/2 --segment-sequence 1,2,3 --out "$TMP/bad" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "3 weights for 2 segments" "$TMP/err" && pass "--segment-sequence of the wrong length refused" ||
    fail "--segment-sequence of the wrong length: $(cat "$TMP/err")"
"${RUN[@]}" --rate 10 --duration 1 --start-at $(( $(date +%s%3N) - 5000 )) --out "$TMP/late" 2>"$TMP/err"
rc=$?
if [ $rc -eq 2 ] && [ ! -e "$TMP/late.json" ] && grep -q "in the past" "$TMP/err"; then
    pass "--start-at 5 s in the past refused, nothing written"
else
    fail "--start-at in the past: exit $rc, $(cat "$TMP/err")"
fi

# --- two unequal segments of one constant schedule, started together
at=$(( $(date +%s%3N) + 3000 ))
pids=()
for i in 0 1; do
    "${RUN[@]}" --rate 200 --duration 3 --connections 8 --seed 5 --segment $i/2 \
        --segment-sequence 3,1 --start-at "$at" --out "$TMP/s$i" >"$TMP/s$i.log" 2>&1 &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "segment run (pid $pid) failed"; done
check "segment shares: 450 + 150 of the whole run's 600 requests" \
    'd("s0")["due"] == 450 and d("s1")["due"] == 150 and d("s0")["intended_rate"] == 150'
check "the runs record their segment and clock offset" \
    'd("s1")["segment"]["index"] == 1 and d("s1")["segment"]["weights"] == [3, 1] and d("s0")["clock"]["known"]'

"$APIBENCH" merge "$TMP/m" "$TMP/s0" "$TMP/s1.json" >"$TMP/merge.log" 2>&1 ||
    { cat "$TMP/merge.log"; fail "apibench merge"; }
check "merge sums counts, bytes and errors" '
    all(d("m")[k] == d("s0")[k] + d("s1")[k] for k in ("due", "sent", "completed", "bytes_received"))
    and d("m")["due"] == 600 and d("m")["latency"]["count"] == 600
    and d("m")["errors"]["total"] == d("s0")["errors"]["total"] + d("s1")["errors"]["total"]
    and d("m")["routes"]["path"]["count"] == d("m")["completed"]'
check "merge: rates over the union window, intended rate whole" '
    abs(d("m")["measured_s"] - 3.0) < 0.05 and d("m")["intended_rate"] == 200
    and abs(d("m")["achieved_rate"] - d("m")["completed_in_window"] / d("m")["measured_s"]) < 1e-6
    and d("m")["merged"]["runs"] == 2'
check "merged percentiles lie between the segments' (p50, p90, p99)" '
    all(min(d("s0")[h][p], d("s1")[h][p]) <= d("m")[h][p] <= max(d("s0")[h][p], d("s1")[h][p])
        for h in ("latency", "service_time", "send_lag") for p in ("p50_ms", "p90_ms", "p99_ms"))'
check "merged min/max/mean are the exact combination" '
    d("m")["latency"]["max_ms"] == max(d("s0")["latency"]["max_ms"], d("s1")["latency"]["max_ms"])
    and d("m")["latency"]["min_ms"] == min(d("s0")["latency"]["min_ms"], d("s1")["latency"]["min_ms"])
    and abs(d("m")["latency"]["mean_ms"] * 600 - d("s0")["latency"]["mean_ms"] * 450
            - d("s1")["latency"]["mean_ms"] * 150) < 1e-3'
"$APIBENCH" merge "$TMP/one" "$TMP/s0" >/dev/null 2>&1 || fail "merge of one run"
check "merging one run alone gives back its summaries" '
    all(d("one")[h] == d("s0")[h] for h in ("latency", "latency_answered", "service_time", "send_lag"))'
[ -s "$TMP/m.latency.hgrm" ] && [ -s "$TMP/m.path.latency.hgrm" ] && [ -s "$TMP/m.send_lag.hlog" ] &&
    pass "merge writes .hgrm and .hlog files" || fail "merge output files missing"

# --- closed loop: a share of the connections
"${RUN[@]}" --mode closed --connections 5 --duration 1 --segment 0/2 --out "$TMP/c0" >/dev/null 2>&1 ||
    fail "closed-loop segment run"
check "closed loop: segment 0/2 of 5 connections runs 3" \
    'd("c0")["segment"]["connections"] == 3 and d("c0")["config"]["connections"] == 5 and d("c0")["completed"] > 0'

# --- merge refusals
"$APIBENCH" merge "$TMP/x" "$TMP/s0" "$TMP/nothere" 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "nothere.json" "$TMP/err" && [ ! -e "$TMP/x.json" ] &&
    pass "merge of a missing run: exit 1, nothing written" || fail "merge of a missing run: $(cat "$TMP/err")"
# s1's histograms rewritten with 2 significant digits (another configuration)
mkdir -p "$TMP/other"
cp "$TMP"/s1.* "$TMP/other/"
python3 - "$TMP/other/s1.latency.hlog" <<'PY'
import base64, struct, sys, zlib
path = sys.argv[1]
out = []
for line in open(path):
    if line[0].isdigit() or line.startswith("Tag="):
        head, b64 = line.rstrip("\n").rsplit(",", 1)
        raw = base64.b64decode(b64)
        enc = bytearray(zlib.decompress(raw[8:]))
        enc[12:16] = struct.pack(">i", 2)
        z = zlib.compress(bytes(enc))
        line = head + "," + base64.b64encode(raw[:4] + struct.pack(">i", len(z)) + z).decode() + "\n"
    out.append(line)
open(path, "w").write("".join(out))
PY
"$APIBENCH" merge "$TMP/y" "$TMP/s0" "$TMP/other/s1" 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "histogram configurations differ" "$TMP/err" && [ ! -e "$TMP/y.json" ] &&
    pass "merge of another histogram configuration: exit 1, '$(cut -c1-90 "$TMP/err")...'" ||
    fail "merge of another configuration: $(cat "$TMP/err")"

delay_finish
echo "all segment and merge checks passed"
