#!/usr/bin/env bash
# test_oversized_body.sh - a body over --max-body gets a readable 413 JSON answer, whatever
# the client: Python's http.client (which sends the whole body before it reads anything),
# curl without `Expect: 100-continue`, curl with it, and chunked bodies from both. The
# server reads and drops the rest of the body (a lingering read) before it answers, so the
# client is not reset while still sending. After all of them the server still serves.
# Port 18472. The limit is checked before any handler runs, but the server only starts on
# a database that has its indexes, so the test seeds one of its own.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../integration/async_common.sh"

SERVER=$(require_bin apibench-${FAULT_BUILD:-06-async})
async_setup apibench_t_faults_413 # seeded, with sql/async.sql (06-async needs it)
on_exit "drop_db apibench_t_faults_413"
PORT=18472
TMP=$ASYNC_TMP
"$SERVER" --port "$PORT" --threads 4 --max-body 1m --database-url "$APP_URL" \
    --redis-url "$REDIS_URL" >"$TMP/server.log" 2>&1 &
track_pid $!
wait_http "http://127.0.0.1:$PORT/healthz" 30 || { cat "$TMP/server.log" >&2; fail "the server did not start"; }
URL="http://127.0.0.1:$PORT/api/devices/1/readings"
head -c $((8 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$TMP/8m.json"

# expect_413 WHAT STATUS BODY_FILE - checks a 413 with the JSON error naming the limit.
expect_413() {
    local what=$1 status=$2 body=$3
    note "$what: status $status, $(head -c 120 "$body")"
    check '[ "$status" = 413 ]' "$what: expected 413"
    check 'jq -e ".error.status == 413 and (.error.message | test(\"limit is 1048576 bytes\"))" "$body" >/dev/null' \
        "$what: a JSON error naming the limit"
}

py() {
    /usr/bin/python3 "$SOURCE_DIR/tests/faults/clients.py" post --port "$PORT" "$@" >"$TMP/py.json"
    jq -r '.status // "none"' "$TMP/py.json" >"$TMP/py.status"
    jq -c '.body // .error' "$TMP/py.json" >"$TMP/py.body"
}
py --bytes $((8 * 1024 * 1024))
expect_413 "http.client, 8 MB, Content-Length" "$(cat "$TMP/py.status")" "$TMP/py.body"
py --bytes $((8 * 1024 * 1024)) --chunked
expect_413 "http.client, 8 MB, chunked" "$(cat "$TMP/py.status")" "$TMP/py.body"

# curl ARGS... - POSTs the 8 MB file; prints the status (000 when curl saw no answer).
post() {
    curl -s -o "$TMP/curl.body" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
        "$@" --data-binary @"$TMP/8m.json" "$URL" || true
}
expect_413 "curl, 8 MB, no Expect" "$(post -H 'Expect:')" "$TMP/curl.body"
expect_413 "curl, 8 MB, Expect: 100-continue" "$(post -H 'Expect: 100-continue')" "$TMP/curl.body"
expect_413 "curl, 8 MB, chunked, no Expect" "$(post -H 'Expect:' -H 'Transfer-Encoding: chunked')" "$TMP/curl.body"

status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/healthz")
check '[ "$status" = 200 ]' "the server still answers /healthz, got $status"
note "ok"
