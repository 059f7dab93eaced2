#!/usr/bin/env bash
# test_async_redis_restart - jobs queued with no worker running survive a Redis restart
# (appendonly), and jobs accepted while Redis is down are still accepted (202: the row and
# its outbox row are committed in Postgres) and relayed into the stream once Redis is back.
# This restarts the shared private Redis for a few seconds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/async_common.sh"

async_setup apibench_t_async_redis
start_sink 18621 0
start_async 18620 "$SINK_URL"

enqueue 20
check '[ "$(rcli XLEN "$STREAM")" -eq 20 ]' "20 entries in the stream before the restart"
check '[ "$(sql "SELECT count(*) FROM outbox")" -eq 0 ]' "the outbox is empty after successful XADDs"

note "stopping redis"
"$SOURCE_DIR/scripts/services" stop redis >/dev/null
on_exit "'$SOURCE_DIR/scripts/services' start redis >/dev/null 2>&1"
enqueue 5 device # Redis is down: accepted through the outbox
outbox=$(sql "SELECT count(*) FROM outbox")
"$SOURCE_DIR/scripts/services" start redis >/dev/null
note "redis is back; $outbox jobs were waiting in the outbox"
check '[ "$outbox" -eq 5 ]' "the 5 jobs accepted while redis was down are in the outbox"
check '[ "$(rcli XLEN "$STREAM")" -ge 20 ]' "the 20 queued entries survived the restart (appendonly)"

start_worker "$SINK_URL" --exit-when-idle
wait_done 25 120
wait "$WORKER_PID" || fail "the worker exited non-zero"
check '[ "$(sql "SELECT count(*) FROM reports WHERE status <> '"'done'"'")" -eq 0 ]' \
    "all 25 jobs are done"
check '[ "$(sql "SELECT count(*) FROM outbox")" -eq 0 ]' "the outbox was drained"
counts=$(sink_jobs)
note "sink: $counts"
check '[ "$(sed -n "s/.*\bjobs=\([0-9]*\).*/\1/p" <<<"$counts")" -eq 25 ]' "25 jobs e-mailed"
failed=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "apibench_jobs_xadd_failed_total" { print $2 }')
note "server metrics: apibench_jobs_xadd_failed_total=$failed relayed=$(stat relayed)" \
    "duplicate_skipped=$(stat duplicate_skipped)"
check '[ "${failed:-0}" -eq 5 ]' "the server counted 5 failed XADDs"
check '[ "$(stat relayed)" -ge 5 ]' "the 5 outbox rows were relayed"
note "ok"
