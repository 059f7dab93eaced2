# tests/integration/api_common.sh - helpers shared by the API server's integration tests
# (test_api.sh, test_query_counts.sh, test_equal_bodies.sh). Sourced after lib.sh.
# shellcheck shell=bash

API_BUILDS=(01-baseline 02-indexes 03-cache 04-pool 05-gzip)
API_SEED=7
API_TMP=$(mktemp -d /tmp/apibench-api-test.XXXXXX)
on_exit "rm -rf '$API_TMP'"

# api_setup DBNAME - fresh database, seeded at scale 1, with the indexes of 02 on;
# sets KEY[1..5] (the seeded users' API keys) and APP_URL (the server role's URL, with a
# per-run fallback_application_name so that cached builds get a cache scope of their own).
api_setup() {
    apibench_env
    fresh_db "$1" >/dev/null
    on_exit "drop_db $1"
    require_bin apibench >/dev/null
    "$BUILD_DIR/apibench" seed --scale 1 --seed "$API_SEED" --database-url "$T_DATABASE_URL" \
        --quiet >"$API_TMP/seed.log" 2>&1 || { cat "$API_TMP/seed.log"; fail "seed failed"; }
    "$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -f "$SOURCE_DIR/sql/indexes_article.sql" \
        -f "$SOURCE_DIR/sql/index_headline.sql" -c ANALYZE >/dev/null ||
        fail "cannot create the indexes"
    local line
    KEY=()
    while read -r id _ key; do KEY[$id]=$key; done < <("$BUILD_DIR/apibench" keys --seed "$API_SEED")
    [ "${#KEY[@]}" -eq 5 ] || fail "apibench keys printed ${#KEY[@]} keys, expected 5"
    APP_URL="$T_APP_DATABASE_URL?fallback_application_name=t$$x$RANDOM"
}

# start_build NAME PORT [ARGS...] - starts apibench-NAME on PORT against APP_URL and waits
# for /healthz. Its stderr goes to $API_TMP/NAME.log.
start_build() {
    local name=$1 port=$2
    shift 2
    local bin
    bin=$(require_bin "apibench-$name")
    "$bin" --port "$port" --database-url "$APP_URL" --redis-url "$REDIS_URL" \
        --smtp-url "$SMTP_URL" --threads 4 "$@" >>"$API_TMP/$name.log" 2>&1 &
    track_pid $!
    wait_http "http://127.0.0.1:$port/healthz" 20 ||
        { cat "$API_TMP/$name.log"; fail "apibench-$name did not start on port $port"; }
}

# req METHOD PORT PATH [KEY] [BODY] - one request (BODY "@file" sends a file); sets STATUS, and leaves the (decoded)
# body in $API_TMP/body and the headers in $API_TMP/headers.
req() {
    local method=$1 port=$2 path=$3 key=${4:-} body=${5:-}
    local args=(-s --compressed -o "$API_TMP/body" -D "$API_TMP/headers" -w '%{http_code}'
        -X "$method" --max-time 60)
    [ -n "$key" ] && args+=(-H "X-API-Key: $key")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    STATUS=$(curl "${args[@]}" "http://127.0.0.1:$port$path") || STATUS=000
}

# body - the last response body.
body() { cat "$API_TMP/body"; }

# header NAME - the last response's header NAME (value only, no CR).
header() { { grep -i "^$1:" "$API_TMP/headers" || true; } | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# expect STATUS WHAT - the last response had STATUS.
expect() {
    [ "$STATUS" = "$1" ] || { body >&2; fail "$2: expected $1, got $STATUS"; }
}

# expect_error STATUS WHAT - the last response had STATUS and a JSON error body with the
# same status, a message, and Content-Type application/json.
expect_error() {
    expect "$1" "$2"
    jq -e --argjson s "$1" '.error.status == $s and (.error.message | type == "string" and length > 0)' \
        "$API_TMP/body" >/dev/null || { body >&2; fail "$2: body is not the JSON error for $1"; }
    [[ "$(header Content-Type)" == application/json* ]] || fail "$2: error without JSON content type"
}

# metric PORT NAME - a counter's value from /metrics (first matching line).
metric() {
    local text
    text=$(curl -s "http://127.0.0.1:$1/metrics") || fail "cannot read /metrics on port $1"
    awk -v n="$2" '$1 == n && !done { print $2; done = 1 }' <<<"$text"
}

# pgss_calls - statements run by the server role in the test database, per
# pg_stat_statements.
pgss_calls() {
    "$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
        JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
        WHERE r.rolname = 'apibench_app' AND d.datname = current_database()"
}
