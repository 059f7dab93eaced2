#!/usr/bin/env bash
# scripts/bench_nginx.sh - prints two figures of issue 3 (never asserts them):
#
#  1. Throughput of 05-gzip's cached headline endpoint (GET /api/readings/latest, admin
#     key, served from L1) against nginx serving the same body as a static file, with the
#     same wrk settings (-t1 -c32, keep-alive, X-API-Key and Accept-Encoding: gzip sent to
#     both). Three pairings, so that like is compared with like:
#       gzip, dynamic   nginx `gzip on; gzip_comp_level 6` compresses each response, as 05 does
#       gzip, static    nginx `gzip_static on` sends a file compressed once (nginx's best case)
#       identity        no Accept-Encoding: both send the 20 KB JSON as is
#     Target: 05 >= 50% of nginx's requests/s.
#  2. The server's RSS sampled every 5 s during a 60 s load whose requests are nearly all
#     distinct (random device and limit, ~500k keys): the L1 cache is bounded by
#     --l1-max-entries (10 000), so RSS must level off rather than grow.
#
# Usage: scripts/bench_nginx.sh [BUILD_DIR]   (default build/). Needs the private services
# (scripts/services start), wrk and nginx (nginx-light). Seeds its own scale-1 database
# apibench_t_api_bench. Ports: nginx 18390, apibench-05-gzip 18391.
# BENCH_SECONDS (10) and RSS_SECONDS (60) change the durations.
set -euo pipefail
AB_PROG=bench_nginx
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD_DIR=${1:-$APIBENCH_ROOT/build}
BENCH_SECONDS=${BENCH_SECONDS:-10}
RSS_SECONDS=${RSS_SECONDS:-60}
NGINX_PORT=18390
API_PORT=18391
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

for cmd in wrk curl psql; do command -v $cmd >/dev/null || ab_die "missing $cmd"; done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || ab_die "missing nginx (apt-get install nginx-light)"
for b in apibench apibench-05-gzip; do
    [ -x "$BUILD_DIR/$b" ] || ab_die "missing $BUILD_DIR/$b (build first)"
done
eval "$("$APIBENCH_ROOT/scripts/services" env)"

# ---- a seeded scale-1 database with the indexes 05 needs
ab_say "seeding $DB (scale 1)"
psql -X -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
OWNER_URL=${DATABASE_URL%/*}/$DB
APP_URL=${APP_DATABASE_URL%/*}/$DB
"$BUILD_DIR/apibench" seed --scale 1 --seed 1 --database-url "$OWNER_URL" --quiet >/dev/null
psql -X -q "$OWNER_URL" -f "$APIBENCH_ROOT/sql/indexes_article.sql" \
    -f "$APIBENCH_ROOT/sql/index_headline.sql" -c ANALYZE >/dev/null
KEY=$("$BUILD_DIR/apibench" keys --seed 1 | awk '$1 == 1 { print $3 }')

# ---- the server, its cache warmed
"$BUILD_DIR/apibench-05-gzip" --port $API_PORT --database-url "$APP_URL?fallback_application_name=bench$$" \
    --redis-url "$REDIS_URL" --quiet 2>"$TMP/server.log" &
API_PID=$!
PIDS+=("$API_PID")
API_URL=http://127.0.0.1:$API_PORT/api/readings/latest
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$API_PORT/healthz" && break; sleep 0.1; done
curl -sf -o "$TMP/body.json" -H "X-API-Key: $KEY" "$API_URL" || ab_die "05-gzip does not serve $API_URL"

# ---- nginx with the same body at the same path
mkdir -p "$TMP/www/api/readings" "$TMP/logs" "$TMP/tmp" "$TMP/www-static/api/readings"
chmod 755 "$TMP" "$TMP/www" "$TMP/www/api" "$TMP/www/api/readings" "$TMP/www-static" \
    "$TMP/www-static/api" "$TMP/www-static/api/readings"
cp "$TMP/body.json" "$TMP/www/api/readings/latest"
cp "$TMP/body.json" "$TMP/www-static/api/readings/latest"
gzip -6 -n -c "$TMP/body.json" >"$TMP/www-static/api/readings/latest.gz"
chmod 644 "$TMP"/www*/api/readings/*
start_nginx() { # start_nginx ROOT GZIP_DIRECTIVES
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
    $2
    server { listen 127.0.0.1:$NGINX_PORT; root $1; }
}
CONF
    "$NGINX" -p "$TMP" -e "$TMP/logs/error.log" -c "$TMP/nginx.conf" -g 'daemon off;' &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/api/readings/latest" && return 0; sleep 0.1; done
    ab_die "nginx did not start: $(cat "$TMP/logs/error.log")"
}
stop_nginx() { kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; }

# rps URL [HEADER...] - requests/s from one wrk run; fails on any non-2xx or socket error.
rps() {
    local url=$1 out
    shift
    local hdr=(-H "X-API-Key: $KEY")
    for h in "$@"; do hdr+=(-H "$h"); done
    out=$(wrk -t1 -c32 -d"${BENCH_SECONDS}s" "${hdr[@]}" "$url")
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
        printf '%s\n' "$out" >&2
        ab_die "errors during the wrk run against $url"
    fi
    awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

# same_body ACCEPT - 05 and nginx send the same bytes once decoded, and both compress (or not)
same_body() {
    local enc=$1
    curl -s --compressed -H "X-API-Key: $KEY" ${enc:+-H "Accept-Encoding: $enc"} -o "$TMP/a" -D "$TMP/ha" "$API_URL"
    curl -s --compressed -H "X-API-Key: $KEY" ${enc:+-H "Accept-Encoding: $enc"} -o "$TMP/b" -D "$TMP/hb" \
        "http://127.0.0.1:$NGINX_PORT/api/readings/latest"
    cmp -s "$TMP/a" "$TMP/b" || ab_die "nginx and 05-gzip bodies differ"
    [ "$(grep -ci '^content-encoding: gzip' "$TMP/ha")" = "$(grep -ci '^content-encoding: gzip' "$TMP/hb")" ] ||
        ab_die "only one side compresses (Accept-Encoding: ${enc:-none})"
}

echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
    "wrk -t1 -c32 -d${BENCH_SECONDS}s; body $(wc -c <"$TMP/body.json") bytes JSON," \
    "$(gzip -6 -n -c "$TMP/body.json" | wc -c) gzipped; nginx $("$NGINX" -v 2>&1 | cut -d/ -f2), 1 worker;" \
    "apibench-05-gzip, default threads; everything on one machine"
printf '%-16s %12s %12s %8s\n' pairing "05 req/s" "nginx req/s" "05/nginx"
report() { printf '%-16s %12.0f %12.0f %7.0f%%\n' "$1" "$2" "$3" "$(echo "100 * $2 / $3" | bc -l)"; }

start_nginx "$TMP/www" "gzip on; gzip_comp_level 6; gzip_min_length 1024; gzip_types application/json;"
same_body gzip
a=$(rps "$API_URL" "Accept-Encoding: gzip"); n=$(rps "http://127.0.0.1:$NGINX_PORT/api/readings/latest" "Accept-Encoding: gzip")
report "gzip, dynamic" "$a" "$n"
stop_nginx

start_nginx "$TMP/www-static" "gzip_static on;"
same_body gzip
a=$(rps "$API_URL" "Accept-Encoding: gzip"); n=$(rps "http://127.0.0.1:$NGINX_PORT/api/readings/latest" "Accept-Encoding: gzip")
report "gzip, static" "$a" "$n"
same_body ""
a=$(rps "$API_URL"); n=$(rps "http://127.0.0.1:$NGINX_PORT/api/readings/latest")
report "identity" "$a" "$n"
stop_nginx

# ---- RSS under a 60 s load of nearly all distinct requests
cat >"$TMP/distinct.lua" <<'LUA'
math.randomseed(7)
request = function()
    local path
    if math.random() < 0.5 then
        path = "/api/devices/" .. math.random(1, 1000) .. "/readings?limit=" .. math.random(1, 500)
    else
        path = "/api/readings/latest?limit=" .. math.random(1, 500)
    end
    return wrk.format("GET", path)
end
LUA
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$API_PID/status"; }
echo "== RSS of apibench-05-gzip (--l1-max-entries 10000) during ${RSS_SECONDS}s of distinct requests (wrk -t1 -c16)"
before_entries=$(curl -s "http://127.0.0.1:$API_PORT/metrics" | awk '$1 == "apibench_db_queries_total" { print $2 }')
wrk -t1 -c16 -d"${RSS_SECONDS}s" -H "X-API-Key: $KEY" -H "Accept-Encoding: gzip" -s "$TMP/distinct.lua" \
    "http://127.0.0.1:$API_PORT" >"$TMP/rss-wrk.txt" &
WRK_PID=$!
PIDS+=("$WRK_PID")
samples="start $(rss_kb) kB"
for ((t = 5; t <= RSS_SECONDS; t += 5)); do
    sleep 5
    samples+=", ${t}s $(rss_kb)"
done
wait "$WRK_PID" || true
echo "$samples kB"
after=$(curl -s "http://127.0.0.1:$API_PORT/metrics")
echo "requests/s $(awk '/^Requests\/sec:/ { print $2 }' "$TMP/rss-wrk.txt"); statements" \
    "$(( $(awk '$1 == "apibench_db_queries_total" { print $2 }' <<<"$after") - before_entries ))," \
    "$(grep -F 'apibench_cache_lookups_total{level="l1",result="miss"}' <<<"$after")"
