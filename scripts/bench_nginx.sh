#!/usr/bin/env bash
# scripts/bench_nginx.sh - prints figures of issues 3 and 10 (never asserts them):
#
#  1. Requests/s of 06-async's cached headline page (GET /api/readings/latest?limit=100,
#     admin key, answered from L1) against nginx serving the same bytes from a file, in one
#     run, with the same wrk settings (-t1 -c32, keep-alive):
#       gzip      Accept-Encoding: gzip; nginx `gzip_static on` sends a file compressed once
#                 (gzip -6), as 06 sends the gzip its cache entry made once
#       identity  no Accept-Encoding: both send the ~20 KB JSON as it is
#     06 runs twice: with its default --threads (32, sized for database waits) and with one
#     thread per core it is pinned to (with every request an L1 hit, the 32 threads only
#     switch on one core). The server under test (06 or nginx, one worker) is pinned to
#     SERVER_CPU and wrk to WRK_CPU with taskset, so they do not share a core; PostgreSQL
#     and Redis are idle (every request is an L1 hit). ROUNDS rounds alternate the servers;
#     each figure is the median with the range over the rounds. Goal (issue 10): 06 >= 80%
#     of nginx in both. wrk's own cost is on WRK_CPU; its ceiling is not measured here
#     (scripts/bench_generator.sh measures apibench's own generator).
#  2. Redis memory per cached page, identity (04-pool) against gzip (06-async): the field
#     value's bytes (what an L2 hit moves) and MEMORY USAGE of the namespace's hash holding
#     that one page, in a private redis-server of this script.
#  (06's memory under distinct keys is tests/faults/test_memory_bound.sh.)
#
# Usage: scripts/bench_nginx.sh [BUILD_DIR]   (default build/). Needs the private services
# (scripts/services start), wrk, nginx (nginx-light), redis-server and taskset. Seeds its
# own scale-1 database apibench_t_api_bench. Ports 18150-18154 and 18191 (redis).
# BENCH_SECONDS (10), ROUNDS (3), SERVER_CPU (0) and WRK_CPU (1) change the settings.
set -euo pipefail
AB_PROG=bench_nginx
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR=${1:-$APIBENCH_ROOT/build}
BENCH_SECONDS=${BENCH_SECONDS:-10}
ROUNDS=${ROUNDS:-3}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
NGINX_PORT=18150
API_PORT=18151
IDENTITY_PORT=18152
MEMORY_PORT=18153
CORE_THREADS_PORT=18154
REDIS_PORT=18191
DB=apibench_t_api_bench
TMP=$(mktemp -d /tmp/apibench-bench-nginx.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
    [ -n "${DATABASE_URL:-}" ] && psql -X -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
    true
}
trap cleanup EXIT

for cmd in wrk curl psql taskset redis-server redis-cli bc; do
    command -v $cmd >/dev/null || ab_die "missing $cmd"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || ab_die "missing nginx (apt-get install nginx-light)"
for b in apibench apibench-04-pool apibench-06-async; do
    [ -x "$BUILD_DIR/$b" ] || ab_die "missing $BUILD_DIR/$b (build first)"
done
eval "$("$APIBENCH_ROOT/scripts/services" env)"

# ---- a seeded scale-1 database with the indexes 04 and 06 need
ab_say "seeding $DB (scale 1)"
psql -X -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
OWNER_URL=${DATABASE_URL%/*}/$DB
APP_URL=${APP_DATABASE_URL%/*}/$DB
"$BUILD_DIR/apibench" seed --scale 1 --seed 1 --database-url "$OWNER_URL" --quiet >/dev/null
psql -X -q "$OWNER_URL" -f "$APIBENCH_ROOT/sql/indexes_article.sql" \
    -f "$APIBENCH_ROOT/sql/index_headline.sql" -f "$APIBENCH_ROOT/sql/async.sql" -c ANALYZE >/dev/null
KEY=$("$BUILD_DIR/apibench" keys --seed 1 | awk '$1 == 1 { print $3 }')
PAGE=/api/readings/latest?limit=100

# ---- a private Redis, so that its keys are this script's alone
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
    >"$TMP/redis.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do redis-cli -p $REDIS_PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
RURL=redis://127.0.0.1:$REDIS_PORT/0

# start_build BUILD PORT APP_NAME [REDIS_DB [SERVER OPTION...]] - a server pinned to
# SERVER_CPU; APP_NAME gives it a cache scope of its own (the scope is a hash of the
# database URL).
start_build() {
    taskset -c "$SERVER_CPU" "$BUILD_DIR/apibench-$1" --port "$2" --quiet "${@:5}" \
        --database-url "$APP_URL?fallback_application_name=$3" --redis-url "${RURL%/*}/${4:-0}" \
        2>"$TMP/$1-$2.log" &
    PIDS+=("$!")
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$2/healthz" && return 0; sleep 0.1; done
    ab_die "apibench-$1 did not start: $(cat "$TMP/$1-$2.log")"
}
# one thread per core in SERVER_CPU (a list such as 0 or 0-1 or 0,2)
CORES=$(taskset -c "$SERVER_CPU" nproc)
start_build 06-async $API_PORT bench06
start_build 06-async $CORE_THREADS_PORT bench06t 0 --threads "$CORES"
API_URL=http://127.0.0.1:$API_PORT$PAGE
CORE_THREADS_URL=http://127.0.0.1:$CORE_THREADS_PORT$PAGE
curl -sf -o "$TMP/body.json" -H "X-API-Key: $KEY" "$API_URL" || ab_die "06-async does not serve $API_URL"
curl -sf -o /dev/null -H "X-API-Key: $KEY" "$CORE_THREADS_URL" || ab_die "06-async does not serve $CORE_THREADS_URL"

# ---- nginx with the same body at the same path, and its gzip made once
mkdir -p "$TMP/www/api/readings" "$TMP/logs" "$TMP/tmp"
chmod 755 "$TMP" "$TMP/www" "$TMP/www/api" "$TMP/www/api/readings"
cp "$TMP/body.json" "$TMP/www/api/readings/latest"
gzip -6 -n -c "$TMP/body.json" >"$TMP/www/api/readings/latest.gz"
chmod 644 "$TMP"/www/api/readings/*
cat >"$TMP/nginx.conf" <<CONF
worker_processes 1;
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
    default_type application/json;
    gzip_static on;
    gzip_vary on;
    server { listen 127.0.0.1:$NGINX_PORT; root $TMP/www; }
}
CONF
taskset -c "$SERVER_CPU" "$NGINX" -p "$TMP" -e "$TMP/logs/error.log" -c "$TMP/nginx.conf" -g 'daemon off;' &
PIDS+=("$!")
NGINX_URL=http://127.0.0.1:$NGINX_PORT/api/readings/latest
for _ in $(seq 50); do curl -sf -o /dev/null "$NGINX_URL" && break; sleep 0.1; done
curl -sf -o /dev/null "$NGINX_URL" || ab_die "nginx did not start: $(cat "$TMP/logs/error.log")"

# rps URL [HEADER...] - requests/s of one wrk run on WRK_CPU; fails on any non-2xx or
# socket error.
rps() {
    local url=$1 out
    shift
    local hdr=(-H "X-API-Key: $KEY")
    for h in "$@"; do hdr+=(-H "$h"); done
    out=$(taskset -c "$WRK_CPU" wrk -t1 -c32 -d"${BENCH_SECONDS}s" "${hdr[@]}" "$url")
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
        printf '%s\n' "$out" >&2
        ab_die "errors during the wrk run against $url"
    fi
    awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

# same_bytes ACCEPT - 06 and nginx send the same bytes on the wire (the same gzip member
# too, since both are gzip -6 of one body) and agree on Content-Encoding.
same_bytes() {
    local enc=$1
    curl -s -H "X-API-Key: $KEY" ${enc:+-H "Accept-Encoding: $enc"} -o "$TMP/a" -D "$TMP/ha" "$API_URL"
    curl -s ${enc:+-H "Accept-Encoding: $enc"} -o "$TMP/b" -D "$TMP/hb" "$NGINX_URL"
    [ "$(grep -ci '^content-encoding: gzip' "$TMP/ha")" = "$(grep -ci '^content-encoding: gzip' "$TMP/hb")" ] ||
        ab_die "only one side compresses (Accept-Encoding: ${enc:-none})"
    if [ -n "$enc" ]; then
        cmp -s <(gzip -dc "$TMP/a") <(gzip -dc "$TMP/b") || ab_die "06 and nginx bodies differ (gzip)"
        echo "$(wc -c <"$TMP/a") vs $(wc -c <"$TMP/b") bytes"
    else
        cmp -s "$TMP/a" "$TMP/b" || ab_die "06 and nginx bodies differ (identity)"
    fi
}

# median_range V... - "median (min-max)" of the values.
median_range() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        printf "%.0f (%.0f-%.0f)", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}
median() { median_range "$@" | cut -d' ' -f1; }

gz_sizes=$(same_bytes gzip)
same_bytes ""
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
    "server (06 or nginx, 1 worker) on cpu $SERVER_CPU, wrk -t1 -c32 -d${BENCH_SECONDS}s on cpu $WRK_CPU;"
echo "   body $(wc -c <"$TMP/body.json") bytes JSON, gzip $gz_sizes (06 vs nginx's file);" \
    "nginx $("$NGINX" -v 2>&1 | cut -d/ -f2); apibench-06-async --quiet with --threads 32 (default)" \
    "and --threads $CORES (one per core); $ROUNDS rounds, median (min-max) requests/s"
printf '%-9s %21s %21s %21s %10s %10s\n' encoding "06 (32 threads)" "06 ($CORES thread/core)" nginx \
    "06(32)/ng" "06($CORES)/ng"
for enc in gzip identity; do
    hdr=()
    [ "$enc" = gzip ] && hdr=("Accept-Encoding: gzip")
    a=() t=() n=()
    for ((r = 1; r <= ROUNDS; r++)); do
        a+=("$(rps "$API_URL" "${hdr[@]+"${hdr[@]}"}")")
        t+=("$(rps "$CORE_THREADS_URL" "${hdr[@]+"${hdr[@]}"}")")
        n+=("$(rps "$NGINX_URL" "${hdr[@]+"${hdr[@]}"}")")
    done
    printf '%-9s %21s %21s %21s %9.0f%% %9.0f%%\n' "$enc" "$(median_range "${a[@]}")" \
        "$(median_range "${t[@]}")" "$(median_range "${n[@]}")" \
        "$(echo "100 * $(median "${a[@]}") / $(median "${n[@]}")" | bc -l)" \
        "$(echo "100 * $(median "${t[@]}") / $(median "${n[@]}")" | bc -l)"
done

# ---- 2. Redis memory per cached page: one fill by each build, each in a scope of its own
# in Redis database 1, where nothing else is
start_build 04-pool $IDENTITY_PORT bench04 1
start_build 06-async $MEMORY_PORT bench06m 1
for port in $IDENTITY_PORT $MEMORY_PORT; do
    curl -sf -o /dev/null -H "X-API-Key: $KEY" "http://127.0.0.1:$port$PAGE" || ab_die "no page from port $port"
done
echo "== Redis memory per cached page ($PAGE, $(wc -c <"$TMP/body.json") bytes of JSON)," \
    "one page per hash; redis $(redis-server --version | awk '{ print $3 }' | cut -d= -f2)"
printf '%-22s %14s %20s\n' "L2 form" "value bytes" "MEMORY USAGE bytes"
rcli1() { redis-cli -p $REDIS_PORT -n 1 "$@"; }
for h in $(rcli1 --scan --pattern 'apibench:cache:*:latest'); do
    field=$(rcli1 HKEYS "$h" | grep -v '^#' | head -n 1)
    value=$(rcli1 EVAL "return string.sub(redis.call('HGET', KEYS[1], ARGV[1]), 1, 40)" \
        1 "$h" "$field" | cut -d'|' -f2)
    form=$([ "$value" = g ] && echo "gzip (06-async)" || echo "identity (04-pool)")
    printf '%-22s %14s %20s\n' "$form" "$(rcli1 HSTRLEN "$h" "$field")" "$(rcli1 MEMORY USAGE "$h" SAMPLES 0)"
done | sort -r
