#!/bin/bash
# bench_async.sh - figures for 06-async (prints them; not a test).
#
# The same fixed-rate open-loop mix (harness/mixes/reports.json: 95% headline reads, 5%
# device reports that are built and e-mailed) runs against 05-gzip (reports inline: the
# HTTP thread waits for the mail server) and then 06-async (reports queued, apibench-worker
# sends them), in one run, against one database, with the SMTP sink at its default delay
# (300 ms per message, what a remote mail server takes). It prints the headline route's
# p50/p99 (and the report route's) for both builds, then how long the worker took to drain
# the jobs 06-async accepted.
#
# Usage: scripts/bench_async.sh [BUILD_DIR]
#   DATABASE        database to use (default apibench_t_async_s10; created and seeded at
#                   scale 10, seed 1 with the 02+ indexes when missing - takes ~1 minute)
#   RATE (100)  DURATION (30)  WARMUP (5)  CONNECTIONS (64)  THREADS (server, 32)
#   ROUNDS (2: 05, 06, 05, 06 ...)
#   WORKERS (apibench-worker processes for 06-async, 2: one worker sends one e-mail at a
#   time, so at 300 ms per message it completes at most ~3 jobs/s)
# Ports 18681 (05-gzip), 18682 (06-async), 18691 (a private SMTP sink). Needs the private
# services (scripts/services start).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${1:-${BUILD_DIR:-$ROOT/build}}
DATABASE=${DATABASE:-apibench_t_async_s10}
RATE=${RATE:-100}
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-32}
WORKERS=${WORKERS:-2}
ROUNDS=${ROUNDS:-2}
. "$ROOT/scripts/lib.sh"
AB_PROG=bench_async
eval "$("$ROOT/scripts/services" env)"
PSQL=$(ab_psql)
TMP=$(mktemp -d /tmp/apibench-bench-async.XXXXXX)
PIDS=()
STREAM="bench:async:$$"
export APIBENCH_STREAM=$STREAM
cleanup() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
    redis-cli -p "$APIBENCH_REDIS_PORT" DEL "$STREAM" "$STREAM:dead" "$STREAM:stats" >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
for b in apibench apibench-05-gzip apibench-06-async apibench-worker; do
    [ -x "$BUILD_DIR/$b" ] || ab_die "missing $BUILD_DIR/$b (build first)"
done
command -v jq >/dev/null || ab_die "missing jq"

OWNER_URL=$(ab_url_with_db "$DATABASE_URL" "$DATABASE")
APP_URL=$(ab_url_with_db "${APP_DATABASE_URL:-$DATABASE_URL}" "$DATABASE")
WORKER_URL=$(ab_url_with_db "${WORKER_DATABASE_URL:-$DATABASE_URL}" "$DATABASE")
if ! "$PSQL" -X -At "$OWNER_URL" -c "SELECT complete FROM seed_info" 2>/dev/null | grep -qx t; then
    ab_say "seeding $DATABASE at scale 10, seed 1"
    "$PSQL" -X -q "$(ab_url_with_db "$DATABASE_URL" postgres)" -c "CREATE DATABASE $DATABASE OWNER apibench" 2>/dev/null || true
    "$BUILD_DIR/apibench" seed --scale 10 --seed 1 --database-url "$OWNER_URL" --quiet
fi
PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -q -v ON_ERROR_STOP=1 "$OWNER_URL" -f "$ROOT/sql/indexes_article.sql" \
    -f "$ROOT/sql/index_headline.sql" -f "$ROOT/sql/async.sql" -c ANALYZE >/dev/null

/usr/bin/python3 "$ROOT/scripts/smtp_sink.py" --port 18691 --log "$TMP/sink.log" 2>"$TMP/sink.err" &
PIDS+=($!)
ab_wait_tcp 127.0.0.1 18691 10 || ab_die "smtp sink did not start: $(cat "$TMP/sink.err")"
SMTP=smtp://127.0.0.1:18691

start_build() { # NAME PORT
    "$BUILD_DIR/apibench-$1" --port "$2" --database-url "$APP_URL" --redis-url "$REDIS_URL" \
        --smtp-url "$SMTP" --threads "$THREADS" --quiet >"$TMP/$1.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$2/healthz" && return 0; sleep 0.1; done
    cat "$TMP/$1.log" >&2
    ab_die "apibench-$1 did not start"
}

run_one() { # NAME PORT LABEL
    "$BUILD_DIR/apibench" run --target "http://127.0.0.1:$2" --mix "$ROOT/harness/mixes/reports.json" \
        --rate "$RATE" --connections "$CONNECTIONS" --warmup "${WARMUP}s" --duration "${DURATION}s" \
        --timeout-ms 30000 --seed 1 --label "$3" --out "$TMP/$3" --quiet >"$TMP/$3.run.log" 2>&1 ||
        { cat "$TMP/$3.run.log" >&2; ab_say "apibench run against $1 exited non-zero (see above)"; }
}

start_build 05-gzip 18681
start_build 06-async 18682
for ((w = 1; w <= WORKERS; w++)); do
    "$BUILD_DIR/apibench-worker" --database-url "$WORKER_URL" --redis-url "$REDIS_URL" --smtp-url "$SMTP" \
        --consumer "bench-$w" --quiet 2>>"$TMP/worker.log" &
    PIDS+=($!)
done

ab_say "rate $RATE/s, warm-up ${WARMUP}s, ${DURATION}s measured, $CONNECTIONS connections, $THREADS server threads, $WORKERS workers, sink delay 300 ms, $ROUNDS rounds"
ab_say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start_jobs=$("$PSQL" -X -At "$OWNER_URL" -c "SELECT coalesce(max(id), 0) FROM reports")
# Alternate the builds so that a noisy neighbour hits both alike.
for ((round = 1; round <= ROUNDS; round++)); do
    ab_say "round $round: 05-gzip"
    run_one 05-gzip 18681 "05-gzip.$round"
    ab_say "round $round: 06-async"
    run_one 06-async 18682 "06-async.$round"
done
# Drain: the worker finishes what 06-async accepted.
t0=$(date +%s)
for _ in $(seq $((WORKERS > 0 ? 600 : 0))); do
    left=$("$PSQL" -X -At "$OWNER_URL" -c "SELECT count(*) FROM reports WHERE id > $start_jobs AND status IN ('queued', 'running')")
    [ "$left" -eq 0 ] && break
    sleep 0.5
done
drain=$(($(date +%s) - t0))

row() { # LABEL FILE
    jq -r --arg n "$1" '[$n, .intended_rate, .achieved_rate,
        (.routes.latest.latency.p50_ms), (.routes.latest.latency.p99_ms), (.routes.latest.latency.max_ms),
        (.routes.report.latency.p50_ms // "-"), (.routes.report.latency.p99_ms // "-"),
        .errors.total] | @tsv' "$2"
}
echo
printf '%-11s %6s %8s %12s %12s %12s %12s %12s %6s\n' run rate achieved \
    latest_p50 latest_p99 latest_max report_p50 report_p99 errors
for ((round = 1; round <= ROUNDS; round++)); do
    for b in 05-gzip 06-async; do
        f="$TMP/$b.$round.json"
        [ -f "$f" ] || { echo "$b.$round: no result"; continue; }
        row "$b.$round" "$f" | awk -F'\t' '{ printf "%-11s %6.0f %8.1f %10.2fms %10.2fms %10.2fms %10.2fms %10.2fms %6d\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
    done
done
echo
# Inline rows get started_at in the INSERT (= created_at); queued rows when a worker starts.
"$PSQL" -X -At -F' ' "$OWNER_URL" -c "SELECT 'inline (05-gzip) reports:', count(*) FILTER (WHERE started_at = created_at),
    '06-async jobs:', count(*) FILTER (WHERE started_at IS DISTINCT FROM created_at),
    'done:', count(*) FILTER (WHERE started_at IS DISTINCT FROM created_at AND status = 'done'),
    'failed (all):', count(*) FILTER (WHERE status = 'failed'), 'attempts>1:', count(*) FILTER (WHERE attempts > 1)
    FROM reports WHERE id > $start_jobs"
"$PSQL" -X -At -F' ' "$OWNER_URL" -c "SELECT '06-async enqueue->done p50:',
    round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)) * 1000)::numeric), 'ms p99:',
    round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)) * 1000)::numeric), 'ms'
    FROM reports WHERE id > $start_jobs AND started_at > created_at AND status = 'done'"
echo "worker drain after the last run: ${drain}s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'sink: %s\n' "$(/usr/bin/python3 "$ROOT/scripts/smtp_sink.py" count --log "$TMP/sink.log")"
