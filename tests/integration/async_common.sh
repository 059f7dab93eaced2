# tests/integration/async_common.sh - helpers shared by the 06-async tests
# (test_async_*.sh): a seeded database with sql/async.sql applied, a private SMTP sink, the
# 06-async server and apibench-worker, each test on its own ports (18600-18699) and its own
# Redis stream prefix, so that tests never see each other's jobs. Sourced after lib.sh.
# shellcheck shell=bash

ASYNC_SEED=1
ASYNC_TMP=$(mktemp -d /tmp/apibench-async-test.XXXXXX)
on_exit "rm -rf '$ASYNC_TMP'"

# async_setup DBNAME - fresh database seeded at scale 1 with the indexes and sql/async.sql;
# sets KEY (user 1's API key), DEVICE and SITE (a device and a site user 1 may see),
# STREAM (a Redis key prefix unique to this run, deleted at exit) and APP_URL.
async_setup() {
    apibench_env
    fresh_db "$1" >/dev/null
    require_bin apibench >/dev/null
    "$BUILD_DIR/apibench" seed --scale 1 --seed "$ASYNC_SEED" --database-url "$T_DATABASE_URL" \
        --quiet >"$ASYNC_TMP/seed.log" 2>&1 || { cat "$ASYNC_TMP/seed.log"; fail "seed failed"; }
    "$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -f "$SOURCE_DIR/sql/indexes_article.sql" \
        -f "$SOURCE_DIR/sql/index_headline.sql" -f "$SOURCE_DIR/sql/async.sql" -c ANALYZE \
        >/dev/null || fail "cannot apply indexes and sql/async.sql"
    KEY=$("$BUILD_DIR/apibench" keys --seed "$ASYNC_SEED" | awk '$1 == 1 { print $3 }')
    [ -n "$KEY" ] || fail "no API key for user 1"
    SITE=$(sql "SELECT min(site_id) FROM user_sites WHERE user_id = 1")
    DEVICE=$(sql "SELECT min(id) FROM devices WHERE site_id = $SITE")
    [ -n "$SITE" ] && [ -n "$DEVICE" ] || fail "user 1 has no site with devices"
    STREAM="t:$AB_PROG:$$"
    on_exit "redis-cli -p $APIBENCH_REDIS_PORT DEL '$STREAM' '$STREAM:dead' '$STREAM:stats' >/dev/null 2>&1"
    APP_URL="$T_APP_DATABASE_URL?fallback_application_name=t$$x$RANDOM"
    export APIBENCH_STREAM=$STREAM
}

# sql QUERY - one value (or rows, |-separated) from the test database.
sql() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -c "$1"; }

# rcli ARGS... - redis-cli against the private Redis.
rcli() { redis-cli -h 127.0.0.1 -p "$APIBENCH_REDIS_PORT" "$@"; }

# stat FIELD - a job counter from the stream's stats hash (0 when absent).
stat() { local v; v=$(rcli HGET "$STREAM:stats" "$1"); echo "${v:-0}"; }

# start_sink PORT [DELAY_MS] - a private SMTP sink logging to $ASYNC_TMP/sink.log; sets
# SINK_PID and SINK_URL.
start_sink() {
    local port=$1 delay=${2:-0}
    SINK_LOG=$ASYNC_TMP/sink.log
    /usr/bin/python3 "$SOURCE_DIR/scripts/smtp_sink.py" --port "$port" --log "$SINK_LOG" \
        --delay-ms "$delay" >>"$ASYNC_TMP/sink.err" 2>&1 &
    SINK_PID=$!
    track_pid "$SINK_PID"
    SINK_URL="smtp://127.0.0.1:$port"
    wait_port "$port" 10 || { cat "$ASYNC_TMP/sink.err"; fail "smtp sink did not start on $port"; }
}

# stop_sink - stops the private sink and waits until it is gone.
stop_sink() {
    kill -TERM "$SINK_PID" 2>/dev/null || true
    ab_wait_pid_gone "$SINK_PID" 10 || fail "smtp sink $SINK_PID did not stop"
}

# sink_jobs - "messages=N jobs=N duplicate_jobs=N duplicate_messages=N" for the private sink.
sink_jobs() {
    /usr/bin/python3 "$SOURCE_DIR/scripts/smtp_sink.py" count --log "$SINK_LOG" "$@"
}

# start_async PORT SMTP_URL - apibench-06-async on PORT; its log is $ASYNC_TMP/server.log.
start_async() {
    local port=$1 smtp=$2 bin
    bin=$(require_bin apibench-06-async)
    "$bin" --port "$port" --database-url "$APP_URL" --redis-url "$REDIS_URL" \
        --smtp-url "$smtp" --threads 4 --quiet >>"$ASYNC_TMP/server.log" 2>&1 &
    SERVER_PID=$!
    track_pid "$SERVER_PID"
    wait_http "http://127.0.0.1:$port/healthz" 20 ||
        { cat "$ASYNC_TMP/server.log"; fail "apibench-06-async did not start on port $port"; }
    PORT=$port
}

# start_worker SMTP_URL [ARGS...] - apibench-worker in the background on this test's
# stream; sets WORKER_PID. Its log is $ASYNC_TMP/worker.log.
start_worker() {
    local smtp=$1 bin
    shift
    bin=$(require_bin apibench-worker)
    "$bin" --database-url "$T_WORKER_DATABASE_URL" --redis-url "$REDIS_URL" --smtp-url "$smtp" \
        --stream "$STREAM" --block-ms 200 "$@" >>"$ASYNC_TMP/worker.log" 2>&1 &
    WORKER_PID=$!
    track_pid "$WORKER_PID"
}

# req METHOD PATH [BODY] - one request to the server as user 1; sets STATUS, leaves the body
# in $ASYNC_TMP/body and the headers in $ASYNC_TMP/headers.
req() {
    local method=$1 path=$2 body=${3:-}
    local args=(-s --compressed -o "$ASYNC_TMP/body" -D "$ASYNC_TMP/headers" -w '%{http_code}'
        -X "$method" --max-time 30 -H "X-API-Key: $KEY")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    STATUS=$(curl "${args[@]}" "http://127.0.0.1:$PORT$path") || STATUS=000
}

body() { cat "$ASYNC_TMP/body"; }
header() { { grep -i "^$1:" "$ASYNC_TMP/headers" || true; } | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# enqueue N [KIND] - POSTs N report requests (alternating device and site unless KIND),
# checks each 202 with a job id and a Location, appends the ids to $ASYNC_TMP/jobs.
enqueue() {
    local n=$1 kind=${2:-} i k id
    for ((i = 0; i < n; i++)); do
        k=${kind:-$([ $((i % 2)) -eq 0 ] && echo device || echo site)}
        id=$([ "$k" = device ] && echo "$DEVICE" || echo "$SITE")
        req POST /api/reports "{\"kind\":\"$k\",\"id\":$id,\"hours\":24,\"email\":\"ops@example.com\"}"
        [ "$STATUS" = 202 ] || { body >&2; fail "POST /api/reports: expected 202, got $STATUS"; }
        local job
        job=$(jq -er '.job.id' "$ASYNC_TMP/body") || fail "202 without .job.id: $(body)"
        [ "$(jq -r '.job.status' "$ASYNC_TMP/body")" = queued ] || fail "202 job not queued: $(body)"
        [ "$(header Location)" = "/api/jobs/$job" ] ||
            fail "202 Location '$(header Location)', expected /api/jobs/$job"
        echo "$job" >>"$ASYNC_TMP/jobs"
    done
}

# wait_done N TIMEOUT_S - waits until N reports are 'done'; fails with the statuses if not.
wait_done() {
    local n=$1 timeout=$2 i done_
    for ((i = 0; i < timeout * 5; i++)); do
        done_=$(sql "SELECT count(*) FROM reports WHERE status = 'done'")
        [ "$done_" -ge "$n" ] && return 0
        sleep 0.2
    done
    sql "SELECT status, count(*) FROM reports GROUP BY 1" >&2
    tail -20 "$ASYNC_TMP/worker.log" >&2 || true
    fail "only $done_ of $n jobs done after $timeout s"
}

# job_status ID - the status GET /api/jobs/ID reports (checks 200 and JSON).
job_status() {
    req GET "/api/jobs/$1"
    [ "$STATUS" = 200 ] || { body >&2; fail "GET /api/jobs/$1: expected 200, got $STATUS"; }
    jq -er '.status // .job.status' "$ASYNC_TMP/body"
}
