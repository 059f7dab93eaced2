#!/bin/bash
# test_hlog_interop.sh - the .hlog files apibench writes are read by HdrHistogram's own
# implementation (Debian's libhdrhistogram-java: HistogramLogProcessor, which decodes each
# interval with HistogramLogReader and adds them up), and its percentiles match
# apibench's own .hgrm within the histogram's precision (same bucket: 1/1024 of the
# value, plus the .hgrm's 0.001 ms rounding). Checked for a run (untagged intervals and
# Tag=total) and for `apibench merge` of two segments. Loopback only, port 26510; a few
# seconds of load at 250 req/s against the harness's delay server.
PORT=26510
TMP_NAME=hlog-interop
HDR_JAR=${HDR_JAR:-/usr/share/java/hdrhistogram.jar}
# shellcheck source=tests/integration/delay_common.sh
. "$(dirname "$0")/delay_common.sh"
command -v java >/dev/null || { echo "FAIL no java: scripts/deps installs openjdk-17-jre-headless"; exit 1; }
[ -r "$HDR_JAR" ] || { echo "FAIL no $HDR_JAR: scripts/deps installs libhdrhistogram-java"; exit 1; }

# hdr_processor LOG [TAG] - HdrHistogram's percentile spectrum of LOG (values in ms)
hdr_processor() {
    local tag=()
    [ $# -ge 2 ] && tag=(-tag "$2")
    java -cp "$HDR_JAR" org.HdrHistogram.HistogramLogProcessor -i "$1" "${tag[@]}" \
        -outputValueUnitRatio 1000
}

# compare WHAT JAVA_HGRM APIBENCH_HGRM COUNT - every percentile row of apibench's spectrum
# has a row at the same percentile in Java's whose value is in the same bucket, and both
# totals equal COUNT
compare() {
    if python3 - "$2" "$3" "$4" <<'PY'
import sys
def rows(path):
    out, total = {}, None
    for line in open(path):
        f = line.split()
        if len(f) >= 3 and not line.startswith("#") and f[0][0].isdigit():
            out[f[1]] = float(f[0])
        if line.startswith("#[Max"):
            total = int(line.split("Total count")[1].strip(" =]\n"))
    return out, total
java, jt = rows(sys.argv[1])
ours, ot = rows(sys.argv[2])
want = int(sys.argv[3])
bad = []
if jt != want or ot != want:
    bad.append("total count: java %s, apibench %s, run %d" % (jt, ot, want))
if len(ours) < 10:
    bad.append("only %d percentile rows in apibench's spectrum" % len(ours))
for pct, v in ours.items():
    if pct not in java:
        bad.append("percentile %s: no row in java's spectrum" % pct)
    elif abs(java[pct] - v) > v / 1000.0 + 0.0015:
        bad.append("percentile %s: java %.3f ms, apibench %.3f ms" % (pct, java[pct], v))
for b in bad[:10]:
    print("   " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
    then pass "$1: HdrHistogram's reader agrees with apibench ($4 values)"
    else fail "$1: HdrHistogram's reader disagrees with apibench"; fi
}

count_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["count"])' "$1" "$2"; }

"$DELAY_SERVER" --port $PORT --delay-ms 3 --threads 2 >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do grep -q ready "$TMP/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$TMP/server.log" || { echo "FAIL delay server did not start"; exit 1; }
TARGET=http://127.0.0.1:$PORT

# Poisson arrivals near the server's capacity (2 slots x 3 ms): latencies from 3 ms to
# tens of ms, spread over many buckets.
"$APIBENCH" run --target "$TARGET" --path /x --rate 450 --arrival poisson --warmup 0 \
    --duration 4 --connections 8 --seed 3 --quiet --out "$TMP/run" >"$TMP/run.log" 2>&1 ||
    { cat "$TMP/run.log"; echo "FAIL apibench run"; exit 1; }
n=$(count_of "$TMP/run.json" latency)
hdr_processor "$TMP/run.latency.hlog" >"$TMP/java.latency.hgrm" 2>"$TMP/java.err" ||
    { cat "$TMP/java.err"; fail "HistogramLogProcessor could not read run.latency.hlog"; }
compare "run latency, intervals added" "$TMP/java.latency.hgrm" "$TMP/run.latency.hgrm" "$n"
hdr_processor "$TMP/run.latency.hlog" total >"$TMP/java.total.hgrm" 2>>"$TMP/java.err"
compare "run latency, Tag=total" "$TMP/java.total.hgrm" "$TMP/run.latency.hgrm" "$n"
hdr_processor "$TMP/run.service.hlog" >"$TMP/java.service.hgrm" 2>>"$TMP/java.err"
compare "run service time" "$TMP/java.service.hgrm" "$TMP/run.service.hgrm" \
    "$(count_of "$TMP/run.json" service_time)"
hdr_processor "$TMP/run.send_lag.hlog" >"$TMP/java.lag.hgrm" 2>>"$TMP/java.err"
compare "run send lag" "$TMP/java.lag.hgrm" "$TMP/run.send_lag.hgrm" \
    "$(count_of "$TMP/run.json" send_lag)"
intervals=$(grep -c '^[0-9]' "$TMP/run.latency.hlog")
if [ "$intervals" -ge 4 ] && [ "$intervals" -le 6 ]; then
    pass "one interval a second ($intervals lines for 4 s)"
else
    fail "expected 4-6 one-second intervals, got $intervals"
fi

# Two segments started together, merged: Java reads the merged log too.
at=$(( $(date +%s%3N) + 3000 ))
seg_pids=()
for i in 0 1; do
    "$APIBENCH" run --target "$TARGET" --path /x --rate 450 --arrival poisson --warmup 0 \
        --duration 3 --connections 8 --seed 3 --segment $i/2 --start-at "$at" --quiet \
        --out "$TMP/seg$i" >"$TMP/seg$i.log" 2>&1 &
    seg_pids+=($!)
done
for pid in "${seg_pids[@]}"; do wait "$pid" || fail "segment run (pid $pid)"; done
"$APIBENCH" merge "$TMP/merged" "$TMP/seg0" "$TMP/seg1" >"$TMP/merge.log" 2>&1 ||
    { cat "$TMP/merge.log"; fail "apibench merge"; }
n=$(count_of "$TMP/merged.json" latency)
hdr_processor "$TMP/merged.latency.hlog" >"$TMP/java.merged.hgrm" 2>>"$TMP/java.err"
compare "merged latency" "$TMP/java.merged.hgrm" "$TMP/merged.latency.hgrm" "$n"

delay_finish
echo "all hlog interop checks passed"
