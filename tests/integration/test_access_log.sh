#!/usr/bin/env bash
# test_access_log.sh - the access log is off by default and buffered when on.
#
#  1. Default: requests write nothing to stderr.
#  2. --access-log: a line per request ("GET /healthz 200 ..."), written out within about a
#     second although the 64 KB buffer is far from full, and the rest at exit.
#  3. --access-log --quiet: --quiet (kept for scripts) turns it off again.
# No database needed (/healthz). Ports 18481-18483.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVER=$(require_bin apibench-01-baseline)
TMP=$(mktemp -d /tmp/apibench-t-access-log.XXXXXX)
on_exit "rm -rf '$TMP'"

# serve PORT ARGS... - starts the server on PORT with ARGS; sets PID; log in $TMP/PORT.log.
serve() {
    local port=$1
    shift
    "$SERVER" --port "$port" "$@" >"$TMP/$port.log" 2>&1 &
    PID=$!
    track_pid "$PID"
    wait_http "http://127.0.0.1:$port/healthz" 20 || { cat "$TMP/$port.log" >&2; fail "no server on $port"; }
}
hit() { for _ in 1 2 3 4 5; do curl -s -o /dev/null "http://127.0.0.1:$1/healthz"; done; }
lines() { grep -c '^GET /healthz 200 ' "$TMP/$1.log" || true; }

serve 18481
hit 18481
sleep 1.5
check '[ "$(lines 18481)" = 0 ]' "no access log by default, got $(lines 18481) lines"

serve 18482 --access-log
hit 18482
sleep 1.5
n=$(lines 18482)
note "--access-log: $n lines 1.5 s after 6 requests (wait_http's and 5 more)"
check '[ "$n" -ge 6 ]' "the buffered lines are written out within about a second"
hit 18482
kill -TERM "$PID"
ab_wait_pid_gone "$PID" 5 || fail "the server did not stop"
check '[ "$(lines 18482)" -ge 11 ]' "the buffer is written out at exit, got $(lines 18482) lines"

serve 18483 --access-log --quiet
hit 18483
sleep 1.5
check '[ "$(lines 18483)" = 0 ]' "--quiet turns the access log off"
note "ok"
