#!/bin/bash
# bench_generator.sh - figures for the load generator itself (prints them; not a test).
#
#  1. Capacity: the highest constant rate apibench sustains on ONE core against nginx
#     serving a small static file on another core, with its send lag (actual send -
#     intended send) p99 at or under 1 ms and the achieved rate within 2% of intended.
#  2. Agreement with wrk: both tools closed loop, same connections, one thread each, the
#     same core, the same target and duration. In closed loop a tool's latency is the
#     time from its send to the response, so apibench's service time and wrk's latency
#     measure the same thing; wrk has no rate option, which is why the comparison is not
#     made open loop. For context, apibench then runs open loop at 60% of wrk's
#     throughput, where corrected latency and service time should also agree.
#
# Usage: scripts/bench_generator.sh [BUILD_DIR]   (nginx on 127.0.0.1:18590, temp prefix)
# Needs: nginx (Debian nginx-light), wrk, taskset; 2+ cores.
set -eu
BUILD_DIR=${1:-${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}}
APIBENCH=${APIBENCH:-$BUILD_DIR/apibench}
PORT=18590
DURATION=${DURATION:-5}
GEN_CORE=${GEN_CORE:-1}
NGINX_CORE=${NGINX_CORE:-0}
CONNS=${CONNS:-16}         # wrk comparison
CAP_CONNS=${CAP_CONNS:-64} # capacity: enough that a short server stall leaves connections free
# 200 req/s shows the machine's wake-up floor (send lag with nothing else to do)
RATES=${RATES:-"200 2000 5000 10000 15000 20000 25000 30000 40000"}
# On a shared machine other work on the two cores shows up as send lag. Root runs both
# processes at a higher CFS weight (nice) so the figures describe the tool, not the
# neighbours; NICE=0 turns this off.
NICE=${NICE:-$([ "$(id -u)" = 0 ] && echo -15 || echo 0)}
TMP=$(mktemp -d /tmp/apibench-bench-gen.XXXXXX)
NGINX_PID=
DELAY_PID=

cleanup() {
    [ -n "$DELAY_PID" ] && kill "$DELAY_PID" 2>/dev/null && wait "$DELAY_PID" 2>/dev/null
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

for cmd in nginx wrk taskset python3; do
    command -v $cmd >/dev/null || [ -x /usr/sbin/$cmd ] || { echo "missing $cmd" >&2; exit 1; }
done
[ -x "$APIBENCH" ] || { echo "missing $APIBENCH (build first)" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

mkdir -p "$TMP/www" "$TMP/logs" "$TMP/tmp"
chmod 755 "$TMP" "$TMP/www"   # nginx workers run as an unprivileged user
head -c 600 /dev/zero | tr '\0' 'a' >"$TMP/www/small.json"   # a 600-byte static body
cat >"$TMP/nginx.conf" <<CONF
worker_processes 1;
worker_cpu_affinity 01;
pid $TMP/nginx.pid;
error_log $TMP/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/tmp/body;
    proxy_temp_path $TMP/tmp/proxy;
    fastcgi_temp_path $TMP/tmp/fastcgi;
    uwsgi_temp_path $TMP/tmp/uwsgi;
    scgi_temp_path $TMP/tmp/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$PORT;
        root $TMP/www;
        default_type application/json;
    }
}
CONF
nice -n "$NICE" taskset -c "$NGINX_CORE" "$NGINX" -p "$TMP" -e "$TMP/logs/error.log" -c "$TMP/nginx.conf" \
    -g 'daemon off;' &
NGINX_PID=$!
URL=http://127.0.0.1:$PORT/small.json
for _ in $(seq 50); do curl -sf -o /dev/null "$URL" && break; sleep 0.1; done
curl -sf -o /dev/null "$URL" || { echo "nginx does not serve $URL" >&2; exit 1; }

field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
    "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the cores skews every figure)"
echo "== nginx $("$NGINX" -v 2>&1 | cut -d/ -f2) on core $NGINX_CORE; apibench and wrk on core $GEN_CORE; nice $NICE"
echo
echo "== 1. generator capacity: open loop, constant arrivals, $CAP_CONNS connections, 1 thread, ${DURATION}s each"
printf "%10s %10s %12s %12s %12s %12s %8s %12s\n" intended achieved lag_p50_ms lag_p99_ms lat_p50_ms lat_p99_ms errors cpu_us_req
best=0; best_lag=; best_kept=0
for rate in $RATES; do
    out="$TMP/cap_$rate"
    /usr/bin/time -f "%U %S" -o "$out.cpu" nice -n "$NICE" taskset -c "$GEN_CORE" "$APIBENCH" run \
        --target http://127.0.0.1:$PORT --path /small.json --rate "$rate" \
        --connections "$CAP_CONNS" --warmup 1 --duration "$DURATION" --quiet \
        --out "$out" >/dev/null 2>"$out.err" || true
    if [ ! -f "$out.json" ]; then echo "run at $rate failed: $(cat "$out.err")"; break; fi
    read -r ach lag50 lag99 lat50 lat99 errs < <(field "$out.json" \
        '"%.0f %.3f %.3f %.3f %.3f %d" % (d["achieved_rate"], d["send_lag"]["p50_ms"], d["send_lag"]["p99_ms"], d["latency"]["p50_ms"], d["latency"]["p99_ms"], d["errors"]["total"])')
    n=$(field "$out.json" 'd["completed"] + d["phases"]["warmup"]["completed"]')
    cpu=$(python3 -c "print('%.1f' % (1e6 * sum(map(float, open('$out.cpu').read().split()[-2:])) / max(1, $n)))")
    printf "%10s %10s %12s %12s %12s %12s %8s %12s\n" "$rate" "$ach" "$lag50" "$lag99" "$lat50" "$lat99" "$errs" "$cpu"
    ok=$(python3 -c "print(int($lag99 <= 1.0 and $ach >= 0.98 * $rate and $errs == 0))")
    # every rate runs (one noisy step should not hide the rest); the best passing one counts
    if [ "$ok" = 1 ]; then best=$rate; best_lag=$lag99; fi
    kept=$(python3 -c "print(int($ach >= 0.98 * $rate and $errs == 0 and $lag50 <= 1.0))")
    [ "$kept" = 1 ] && best_kept=$rate
done
echo "-> highest rate sustained on one core with send-lag p99 <= 1 ms: $best req/s (send-lag p99 $best_lag ms)"
echo "-> highest rate kept up with (achieved within 2%, send-lag p50 <= 1 ms, p99 aside): $best_kept req/s"
echo

to_ms() { # wrk prints 95.00us / 1.20ms / 2.00s
    python3 -c "import sys,re; m=re.match(r'([0-9.]+)(us|ms|s)$', sys.argv[1]); print('%.3f' % (float(m.group(1)) * {'us': 1e-3, 'ms': 1, 's': 1e3}[m.group(2)]))" "$1"
}
# compare NAME URL CONNS - wrk and apibench, both closed loop with CONNS connections, one
# thread, core GEN_CORE, 10 s; prints both and the differences. Sets wrk_rps and a_rps.
compare() {
    local name=$1 url=$2 conns=$3 target path
    target=${url%/*}; path=/${url##*/}
    /usr/bin/time -f "%U %S" -o "$TMP/wrk.cpu" nice -n "$NICE" taskset -c "$GEN_CORE" \
        wrk -t1 -c"$conns" -d10s --latency "$url" >"$TMP/wrk.txt" 2>&1
    wrk_rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk.txt")
    local w50 w99 a50 a99
    w50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$TMP/wrk.txt")")
    w99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$TMP/wrk.txt")")
    /usr/bin/time -f "%U %S" -o "$TMP/ab.cpu" nice -n "$NICE" taskset -c "$GEN_CORE" \
        "$APIBENCH" run --target "$target" --path "$path" --mode closed --connections "$conns" \
        --warmup 1 --duration 10 --quiet --no-gzip --out "$TMP/closed" >/dev/null 2>&1
    read -r a_rps a50 a99 < <(field "$TMP/closed.json" \
        '"%.0f %.3f %.3f" % (d["achieved_rate"], d["service_time"]["p50_ms"], d["service_time"]["p99_ms"])')
    echo "-- $name: closed loop, $conns connection(s), 1 thread, core $GEN_CORE, 10 s"
    printf "   %-24s %10s %10s %10s\n" tool req/s p50_ms p99_ms
    printf "   %-24s %10.0f %10s %10s\n" "wrk 4.1" "$wrk_rps" "$w50" "$w99"
    printf "   %-24s %10s %10s %10s\n" "apibench" "$a_rps" "$a50" "$a99"
    local wn an
    wn=$(awk '/requests in/ {print $1}' "$TMP/wrk.txt")
    an=$(field "$TMP/closed.json" 'd["completed"] + d["phases"]["warmup"]["completed"]')
    python3 -c "
w50, a50, w99, a99 = $w50, $a50, $w99, $a99
w = sum(map(float, open('$TMP/wrk.cpu').read().split()[-2:])); a = sum(map(float, open('$TMP/ab.cpu').read().split()[-2:]))
print('   -> apibench vs wrk: p50 %+.1f%% (%+.3f ms), p99 %+.1f%%; CPU per request wrk %.1f us, apibench %.1f us' % (
    100 * (a50 - w50) / w50, a50 - w50, 100 * (a99 - w99) / w99, 1e6 * w / $wn, 1e6 * a / $an))"
}

echo "== 2. agreement with wrk (wrk has no rate option, so both run closed loop with the same"
echo "   connections; latency is then send-to-response in both tools: apibench's service time)"
compare "nginx static file: per-request time is mostly the tools' own (tens of us)" "$URL" 1
compare "nginx static file, 16 connections: both tools saturate core $GEN_CORE" "$URL" 16
ab16_rps=$a_rps
DELAY_SERVER=${DELAY_SERVER:-$BUILD_DIR/tests/apibench-delay-server}
if [ -x "$DELAY_SERVER" ]; then
    nice -n "$NICE" taskset -c "$NGINX_CORE" "$DELAY_SERVER" --port $((PORT + 1)) --delay-ms 1 \
        --threads 4 --body-bytes 600 >"$TMP/delay.log" 2>&1 &
    DELAY_PID=$!
    for _ in $(seq 50); do grep -q ready "$TMP/delay.log" && break; sleep 0.1; done
    compare "1 ms server (4 threads): ms-scale like the API; both run at the server's rate" \
        "http://127.0.0.1:$((PORT + 1))/small.json" 4
    kill "$DELAY_PID"; wait "$DELAY_PID" 2>/dev/null || true
    DELAY_PID=
fi
open_rate=$(python3 -c "print(int(0.6 * float('$ab16_rps')))")
nice -n "$NICE" taskset -c "$GEN_CORE" "$APIBENCH" run --target http://127.0.0.1:$PORT --path /small.json \
    --rate "$open_rate" --connections "$CONNS" --warmup 1 --duration 10 --quiet --no-gzip \
    --out "$TMP/open" >/dev/null 2>&1
read -r o_rps o50 o99 s50 s99 < <(field "$TMP/open.json" \
    '"%.0f %.3f %.3f %.3f %.3f" % (d["achieved_rate"], d["latency"]["p50_ms"], d["latency"]["p99_ms"], d["service_time"]["p50_ms"], d["service_time"]["p99_ms"])')
echo "context: apibench open loop at 60% of its own closed-loop throughput ($open_rate req/s): achieved $o_rps,"
echo "         corrected p50 $o50 ms / p99 $o99 ms, service p50 $s50 ms / p99 $s99 ms"
echo "(corrected latency well above service time means requests waited to be sent: the"
echo " generator or its connections fell behind the schedule, which a closed-loop tool never"
echo " shows because it only sends when a response has come back)"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
