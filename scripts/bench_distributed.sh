#!/bin/bash
# bench_distributed.sh - the load generator's ceiling with one generator process against
# two (scripts/distributed-run --local 2: two segments of one schedule, merged exactly),
# against nginx serving a static JSON body (prints figures; not a test). Each ceiling is
# a bracket from a search (doubling, then bisection), not a step of a fixed ladder.
#
# nginx runs one worker on NGINX_CPUS; the generators on GEN_CPUS (both segments share
# them: on a 2-core VM there is no third core). Each probe runs DURATION s; a rate holds when the achieved rate is within 2% of the
# intended, nothing failed and the send-lag p99 (actual - intended send) is <= 1 ms. The
# figures are the generators' (nginx's cost per request is small and the same for both).
#
# Usage: scripts/bench_distributed.sh [BUILD_DIR]   (nginx on 127.0.0.1:PORT, temp prefix)
#   env: START (2000), MAX_RATE (64000), TOL (1.05), MAX_PROBES (10), DURATION (3),
#        REPEAT (1: searches, 1 then 2 generators each time), BODY_BYTES (2000),
#        PORT (26690), NGINX_CPUS (0), GEN_CPUS (1)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-${BUILD_DIR:-$ROOT/build}}
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
START=${START:-2000}
MAX_RATE=${MAX_RATE:-64000}
TOL=${TOL:-1.05}
MAX_PROBES=${MAX_PROBES:-10}
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
echo "nginx: 1 worker on cores $NGINX_CPUS; generators on cores $GEN_CPUS; body $BODY_BYTES bytes; $DURATION s per probe"
printf '%-11s %8s %10s %12s %10s %8s %6s\n' generators rate achieved send_lag_p99 p99_ms errors holds

# probe G RATE - one run with G generators at RATE; prints its row; true when it held.
probe() {
    local g=$1 rate=$2 out=$tmp/g$1-$2-$RANDOM
    if [ "$g" -eq 1 ]; then
        taskset -c "$GEN_CPUS" "$BUILD_DIR/apibench" run "${load[@]}" --rate "$rate" --out "$out" >/dev/null 2>&1 || true
    else
        APIBENCH_BUILD_DIR=$BUILD_DIR taskset -c "$GEN_CPUS" "$ROOT/scripts/distributed-run" --local "$g" --start-in 3 \
            --out "$out" "${load[@]}" --rate "$rate" >/dev/null 2>&1 || true
    fi
    python3 - "$out.json" "$g" "$rate" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except OSError:
    print("%-11s %8s %10s" % (sys.argv[2], sys.argv[3], "failed"))
    sys.exit(1)
lag, rate = d["send_lag"]["p99_ms"], float(sys.argv[3])
holds = d["achieved_rate"] >= 0.98 * rate and d["errors"]["total"] == 0 and lag <= 1.0
print("%-11s %8.0f %10.0f %12.3f %10.3f %8d %6s" % (sys.argv[2], rate, d["achieved_rate"], lag,
      d["latency"]["p99_ms"], d["errors"]["total"], "yes" if holds else "no"))
sys.exit(0 if holds else 1)
EOF
}

# ceiling G - the ceiling of G generators as a bracket from a search: doubling from START
# until a rate fails (or MAX_RATE holds), then geometric bisection until upper/lower <= TOL
# or MAX_PROBES probes.
ceiling() {
    local g=$1 lower=0 upper= rate=$START n=0
    while [ "$n" -lt "$MAX_PROBES" ]; do
        n=$((n + 1))
        if probe "$g" "$rate"; then lower=$rate; else upper=$rate; break; fi
        [ "$rate" -ge "$MAX_RATE" ] && break
        rate=$((rate * 2 > MAX_RATE ? MAX_RATE : rate * 2))
    done
    while [ -n "$upper" ] && [ "$lower" -gt 0 ] && [ "$n" -lt "$MAX_PROBES" ] &&
        awk -v l="$lower" -v u="$upper" -v t="$TOL" 'BEGIN { exit !(u / l > t) }'; do
        n=$((n + 1))
        rate=$(awk -v l="$lower" -v u="$upper" 'BEGIN { printf "%d", sqrt(l * u) }')
        if probe "$g" "$rate"; then lower=$rate; else upper=$rate; fi
    done
    echo "ceiling with $g generator(s): [$lower, ${upper:-above $MAX_RATE}] req/s ($n probes)" >>"$tmp/ceilings"
}

for ((r = 0; r < REPEAT; r++)); do
    for g in 1 2; do ceiling "$g"; done
done
cat "$tmp/ceilings"
