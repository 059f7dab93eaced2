#!/usr/bin/env bash
# test_slow_clients.sh - slow and abusive clients do not stop a normal client being served.
#
#  1. Flood: 2 x --max-connections connections from 127.0.0.1, each stalled halfway
#     through its request header and reopened whenever the server closes it, for 14 s
#     (longer than the 10 s request timeout). Meanwhile a normal client on 127.0.0.2
#     opens a new connection every 100 ms and must get its answer within 1 s every time.
#     The server keeps at most --max-per-ip of the flood's connections, refuses the rest at
#     once, and drops the stalled ones after the request timeout.
#  2. Busy: 10 idle keep-alive connections, then enough stalled connections from three
#     other addresses to take the server above 3/4 of --max-connections: the idle ones are
#     closed within a few seconds (not after the 60 s idle timeout). One thread here, so
#     that the thread's share of --max-connections (which decides "busy") is all of it.
# Defaults of the server throughout, except where a step says. Database
# apibench_t_faults_slow; ports 18470-18471; FAULT_BUILD picks the build (06-async).
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../integration/async_common.sh"

BUILD=${FAULT_BUILD:-06-async}
SERVER=$(require_bin "apibench-$BUILD")
CLIENTS=(/usr/bin/python3 "$SOURCE_DIR/tests/faults/clients.py")
async_setup apibench_t_faults_slow # seeded, with sql/async.sql (06-async needs it)
on_exit "drop_db apibench_t_faults_slow"
TMP=$ASYNC_TMP

# start_server PORT ARGS... - starts the build on PORT and waits for /healthz.
start_server() {
    local port=$1
    shift
    "$SERVER" --port "$port" --database-url "$APP_URL" --redis-url "$REDIS_URL" "$@" \
        >"$TMP/server.$port.log" 2>&1 &
    track_pid $!
    wait_http "http://127.0.0.1:$port/healthz" 30 ||
        { cat "$TMP/server.$port.log" >&2; fail "apibench-$BUILD did not start on port $port"; }
}

# field FILE FILTER - a value from the JSON line in FILE (a jq filter).
field() { jq -r "$2" "$1"; }

# ------------------------------------------------------------------ 1. the flood
PORT=18470
MAX_CONNECTIONS=1024 # the server's default
start_server "$PORT"
note "flood: $((2 * MAX_CONNECTIONS)) stalled connections from 127.0.0.1 for 14 s; a client on 127.0.0.2 every 100 ms"
"${CLIENTS[@]}" flood --port "$PORT" --count $((2 * MAX_CONNECTIONS)) --seconds 14 >"$TMP/flood.json" &
FLOOD=$!
track_pid "$FLOOD"
sleep 1
"${CLIENTS[@]}" probe --port "$PORT" --source 127.0.0.2 --seconds 12 --every 0.1 >"$TMP/probe.json"
wait "$FLOOD" || fail "the flood client failed"
note "normal client: $(cat "$TMP/probe.json")"
note "flood: $(cat "$TMP/flood.json")"
samples=$(field "$TMP/probe.json" .samples)
check '[ "$samples" -ge 100 ]' "the normal client sampled at least 100 times, got $samples"
check '[ "$(field "$TMP/probe.json" .ok)" = "$samples" ]' "every sample got 200"
check '[ "$(field "$TMP/probe.json" .slow)" = 0 ]' "no sample took over 1 s"
refused=$(field "$TMP/flood.json" .closed_at_once)
stalled=$(field "$TMP/flood.json" .closed_stalled)
check '[ "$refused" -gt 0 ]' "the server refused the flood beyond --max-per-ip at once"
check '[ "$stalled" -ge 200 ]' "the stalled connections were dropped after the request timeout, got $stalled"
curl -sf --max-time 2 "http://127.0.0.1:$PORT/healthz" >/dev/null || fail "the server does not answer after the flood"

# ------------------------------------------------------------------ 2. busy: idle closed sooner
PORT=18471
start_server "$PORT" --threads 1 --max-connections 64 --max-per-ip 16
note "busy: 10 idle keep-alive connections, then 48 stalled ones (busy above 48 of 64)"
"${CLIENTS[@]}" flood --port "$PORT" --source 127.0.0.3 --count 10 --idle 10 --seconds 10 >"$TMP/idle.json" &
IDLE=$!
track_pid "$IDLE"
sleep 2
pids=()
for a in 4 5 6; do
    "${CLIENTS[@]}" flood --port "$PORT" --source "127.0.0.$a" --count 16 --seconds 7 >"$TMP/busy.$a.json" &
    pids+=($!)
    track_pid $!
done
"${CLIENTS[@]}" probe --port "$PORT" --source 127.0.0.2 --seconds 6 --every 0.1 >"$TMP/probe2.json"
for p in "${pids[@]}" "$IDLE"; do wait "$p" || fail "a flood client failed"; done
note "idle connections: $(cat "$TMP/idle.json")"
note "normal client while busy: $(cat "$TMP/probe2.json")"
check '[ "$(field "$TMP/idle.json" .idle_closed)" = 10 ]' \
    "the server closed every idle keep-alive connection once busy"
check '[ "$(field "$TMP/idle.json" "(.idle_closed_after_s | max) < 8")" = true ]' \
    "idle connections closed within 8 s of going idle (the idle timeout is 60 s)"
check '[ "$(field "$TMP/probe2.json" .slow)" = 0 ]' "no sample took over 1 s while busy"
note "ok"
