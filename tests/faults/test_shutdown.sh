#!/usr/bin/env bash
# test_shutdown.sh - SIGTERM stops the server and the worker within 2 s, whatever the clients
# and the jobs are doing, and loses nothing.
#
#  1. Server (05-gzip, reports inline): 20 idle keep-alive connections, a flood of 512
#     stalled connections, and a report request in flight (the SMTP sink answers after
#     1 s). SIGTERM 0.5 s into the report: a new connection is refused, the report is
#     answered 200 with the job done, and the server exits 0 within 2 s.
#  2. The same with SIGINT and only idle keep-alive connections.
#  3. Worker (06-async): it holds a job whose e-mail the sink answers after 10 s. SIGTERM:
#     the worker exits 0 within 2 s without acknowledging the job, which goes back to
#     'queued' and stays pending; a second worker reclaims and completes it. SIGTERM to the
#     second one while it waits for work: it exits 0 within 2 s too.
# Database apibench_t_faults_shutdown; ports 18473-18478.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../integration/async_common.sh"

async_setup apibench_t_faults_shutdown
on_exit "drop_db apibench_t_faults_shutdown"
CLIENTS=(/usr/bin/python3 "$SOURCE_DIR/tests/faults/clients.py")

# stop_timed PID SIGNAL - sends SIGNAL to PID and waits for it to exit (at most 10 s); sets
# STOP_MS (how long it took) and STOP_RC (its exit status).
stop_timed() {
    local pid=$1 sig=$2 t0 i
    t0=$(date +%s%N)
    kill -"$sig" "$pid"
    for ((i = 0; i < 1000; i++)); do
        ab_pid_alive "$pid" || break
        sleep 0.01
    done
    STOP_MS=$((($(date +%s%N) - t0) / 1000000))
    STOP_RC=0
    wait "$pid" || STOP_RC=$?
}

# start_inline PORT - 05-gzip on PORT (reports sent inline through $SINK_URL); sets SERVER_PID.
start_inline() {
    "$(require_bin apibench-05-gzip)" --port "$1" --database-url "$APP_URL" --redis-url "$REDIS_URL" \
        --smtp-url "$SINK_URL" >>"$ASYNC_TMP/server.log" 2>&1 &
    SERVER_PID=$!
    track_pid "$SERVER_PID"
    PORT=$1
    wait_http "http://127.0.0.1:$PORT/healthz" 20 || { cat "$ASYNC_TMP/server.log"; fail "05-gzip did not start"; }
}

# ------------------------------------------------------------------ 1. server, SIGTERM
start_sink 18473 1000
start_inline 18474
"${CLIENTS[@]}" flood --port "$PORT" --source 127.0.0.3 --count 20 --idle 20 --seconds 8 >"$ASYNC_TMP/idle.json" &
track_pid $!
"${CLIENTS[@]}" flood --port "$PORT" --source 127.0.0.4 --count 512 --seconds 8 >"$ASYNC_TMP/flood.json" &
track_pid $!
sleep 1.5
t0=$(date +%s%N)
(
    req POST /api/reports "{\"kind\":\"device\",\"id\":$DEVICE,\"hours\":24,\"email\":\"ops@example.com\"}"
    echo "$STATUS $((($(date +%s%N) - t0) / 1000000))" >"$ASYNC_TMP/report"
) &
REPORT=$!
sleep 0.5
# 0.1 s after SIGTERM, while the report is still in flight: a new connection.
(
    sleep 0.1
    curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PORT/healthz" >"$ASYNC_TMP/after" || true
) &
AFTER=$!
stop_timed "$SERVER_PID" TERM
wait "$REPORT" "$AFTER" || true
read -r STATUS report_ms <"$ASYNC_TMP/report"
after=$(cat "$ASYNC_TMP/after")
note "server with 20 idle, 512 stalled and a report in flight: exit $STOP_RC after $STOP_MS ms (SIGTERM 0.5 s into the report); report answered $STATUS after $report_ms ms; a new request after SIGTERM got '${after:-nothing}'"
check '[ "$STOP_RC" = 0 ]' "the server exits 0 on SIGTERM"
check '[ "$STOP_MS" -lt 2000 ]' "the server exits within 2 s of SIGTERM, took $STOP_MS ms"
check '[ "$STATUS" = 200 ] && [ "$(jq -r .job.status "$ASYNC_TMP/body")" = done ]' \
    "the report in flight is answered 200 with the job done, got $STATUS: $(head -c 200 "$ASYNC_TMP/body")"
check '[ "$after" != 200 ]' "a request after SIGTERM is not served"
grep -q "SIGTERM received" "$ASYNC_TMP/server.log" || fail "the server did not log the graceful stop"

# ------------------------------------------------------------------ 2. server, SIGINT, idle
start_inline 18475
"${CLIENTS[@]}" flood --port "$PORT" --source 127.0.0.3 --count 20 --idle 20 --seconds 5 >"$ASYNC_TMP/idle2.json" &
IDLE=$!
track_pid "$IDLE"
sleep 1.5
stop_timed "$SERVER_PID" INT
note "server with 20 idle keep-alive connections: exit $STOP_RC after $STOP_MS ms on SIGINT"
check '[ "$STOP_RC" = 0 ]' "the server exits 0 on SIGINT"
check '[ "$STOP_MS" -lt 2000 ]' "the server exits within 2 s of SIGINT, took $STOP_MS ms"
wait "$IDLE" || true
stop_sink

# ------------------------------------------------------------------ 3. the worker
start_sink 18476 10000
SLOW_SINK=$SINK_URL
start_async 18477 "$SLOW_SINK"
start_worker "$SLOW_SINK" --consumer stopper
enqueue 1 device
job=$(tail -n 1 "$ASYNC_TMP/jobs")
for ((i = 0; i < 100; i++)); do
    [ "$(sql "SELECT status FROM reports WHERE id = $job")" = running ] && break
    sleep 0.1
done
check '[ "$(sql "SELECT status FROM reports WHERE id = $job")" = running ]' "the worker took job $job"
sleep 0.5 # the worker is now waiting for the sink's answer to DATA
stop_timed "$WORKER_PID" TERM
pending=$(rcli XPENDING "$STREAM" apibench-workers | head -n 1)
note "worker holding job $job (sink delay 10 s): exit $STOP_RC after $STOP_MS ms on SIGTERM; row $(sql "SELECT status FROM reports WHERE id = $job"), $pending entry pending"
check '[ "$STOP_RC" = 0 ]' "the worker exits 0 on SIGTERM"
check '[ "$STOP_MS" -lt 2000 ]' "the worker exits within 2 s of SIGTERM, took $STOP_MS ms: $(tail -n 5 "$ASYNC_TMP/worker.log")"
check '[ "$(sql "SELECT status FROM reports WHERE id = $job")" = queued ]' "the job is released (queued again)"
check '[ "$pending" = 1 ]' "the job's entry stays pending (not acknowledged)"
check '[ "$(stat released)" = 1 ]' "the release is counted"

stop_sink
start_sink 18478 0
start_worker "$SINK_URL" --consumer taker --claim-idle-ms 500
wait_done 1 20
note "a second worker reclaimed and completed job $job: $(sql "SELECT status || ' after ' || attempts || ' attempts' FROM reports WHERE id = $job")"
sleep 1 # now idle, blocked in XREADGROUP
stop_timed "$WORKER_PID" TERM
note "idle worker: exit $STOP_RC after $STOP_MS ms on SIGTERM"
check '[ "$STOP_RC" = 0 ]' "the idle worker exits 0 on SIGTERM"
check '[ "$STOP_MS" -lt 2000 ]' "the idle worker exits within 2 s of SIGTERM, took $STOP_MS ms"
note "ok"
