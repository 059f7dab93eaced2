#!/bin/bash
# bench_distributed.sh - the load generator's ceiling with one generator process against
# two (scripts/distributed-run --local 2: two segments of one schedule, merged exactly),
# against nginx serving a static JSON body (prints figures; not a test).
#
# nginx runs one worker on NGINX_CPUS; the generators on GEN_CPUS (both segments share
# them: on a 2-core VM there is no third core). Each rate runs DURATION s with each
# generator count, REPEAT times; a rate holds when the achieved rate is within 2% of the
# intended, nothing failed and the send-lag p99 (actual - intended send) is <= 1 ms. The
# ceiling printed is a bracket: [highest rate that held, lowest rate above it that did
# not] per generator count. The figures are the generators' (nginx's cost per request is
# small and the same for both).
#
# Usage: scripts/bench_distributed.sh [BUILD_DIR]   (nginx on 127.0.0.1:PORT, temp prefix)
#   env: RATES ("4000 8000 12000 16000"), DURATION (3), REPEAT (1), BODY_BYTES (2000),
#        PORT (26690), NGINX_CPUS (0), GEN_CPUS (1)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-${BUILD_DIR:-$ROOT/build}}
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
RATES=${RATES:-"4000 8000 12000 16000"}
DURATION=${DURATION:-3}
REPEAT=${REPEAT:-1}
BODY_BYTES=${BODY_BYTES:-2000}
PORT=${PORT:-26690}
NGINX_CPUS=${NGINX_CPUS:-0}
GEN_CPUS=${GEN_CPUS:-1}

tmp=$(mktemp -d /tmp/apibench-bench-distributed.XXXXXX)
nginx_pid=
cleanup() {
    [ -z "$nginx_pid" ] || kill "$nginx_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ab_nginx_conf "$tmp" "$PORT"
python3 -c "import json,sys; print(json.dumps({'pad': 'x' * int(sys.argv[1])}))" "$BODY_BYTES" >"$tmp/www/body.json"
taskset -c "$NGINX_CPUS" nginx -p "$tmp" -e "$tmp/logs/error.log" -c "$tmp/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
ab_wait_tcp 127.0.0.1 "$PORT" 10 || { echo "nginx did not start"; exit 1; }

load=(--target "http://127.0.0.1:$PORT" --path /body.json --no-gzip --duration "$DURATION" --warmup 0 --seed 1 --quiet)
echo "nginx: 1 worker on cores $NGINX_CPUS; generators on cores $GEN_CPUS; body $BODY_BYTES bytes; $DURATION s per run"
printf '%-11s %8s %10s %12s %10s %8s %6s\n' generators rate achieved send_lag_p99 p99_ms errors holds
for rate in $RATES; do
    for ((r = 0; r < REPEAT; r++)); do
        for g in 1 2; do
            out=$tmp/g$g-$rate-$r
            if [ "$g" -eq 1 ]; then
                taskset -c "$GEN_CPUS" "$BUILD_DIR/apibench" run "${load[@]}" --rate "$rate" --out "$out" >/dev/null 2>&1 || true
            else
                APIBENCH_BUILD_DIR=$BUILD_DIR taskset -c "$GEN_CPUS" "$ROOT/scripts/distributed-run" --local 2 --start-in 3 \
                    --out "$out" "${load[@]}" --rate "$rate" >/dev/null 2>&1 || true
            fi
            python3 - "$out.json" "$g" "$rate" <<'EOF' | tee -a "$tmp/table"
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except OSError:
    print("%-11s %8s %10s" % (sys.argv[2], sys.argv[3], "failed"))
    sys.exit(0)
lag, rate = d["send_lag"]["p99_ms"], float(sys.argv[3])
holds = d["achieved_rate"] >= 0.98 * rate and d["errors"]["total"] == 0 and lag <= 1.0
print("%-11s %8.0f %10.0f %12.3f %10.3f %8d %6s" % (sys.argv[2], rate, d["achieved_rate"], lag,
      d["latency"]["p99_ms"], d["errors"]["total"], "yes" if holds else "no"))
EOF
        done
    done
done
python3 - "$tmp/table" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 7]
for g in ("1", "2"):
    held = sorted(float(r[1]) for r in rows if r[0] == g and r[6] == "yes")
    failed = sorted(float(r[1]) for r in rows if r[0] == g and r[6] == "no" and (not held or float(r[1]) > held[-1]))
    print("ceiling with %s generator(s): [%s, %s] req/s" % (g, "%.0f" % held[-1] if held else "-",
          "%.0f" % failed[0] if failed else "-"))
EOF
