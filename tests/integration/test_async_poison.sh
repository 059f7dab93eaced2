#!/usr/bin/env bash
# test_async_poison - a job whose report cannot be built (its device was deleted) and a
# stream entry with a bogus report id are each dead-lettered after --max-deliveries
# deliveries; the job reads 'failed' through GET /api/jobs/{id}, and a good job in the same
# queue still completes. Also: bad report requests get a 4xx JSON error, an unknown job a
# 404 JSON error, and nothing is queued for them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/async_common.sh"

expect_error() {
    [ "$STATUS" = "$1" ] || { body >&2; fail "$2: expected $1, got $STATUS"; }
    jq -e --argjson s "$1" '.error.status == $s and (.error.message | length > 0)' \
        "$ASYNC_TMP/body" >/dev/null || { body >&2; fail "$2: not a JSON error body"; }
}

async_setup apibench_t_async_poison
start_sink 18641 0
start_async 18640 "$SINK_URL"

# --- bad input
req POST /api/reports '{"kind":"device","id":'
expect_error 400 "malformed JSON"
req POST /api/reports '{"kind":"planet","id":1,"hours":24,"email":"ops@example.com"}'
expect_error 400 "unknown report kind"
req POST /api/reports "{\"kind\":\"device\",\"id\":$DEVICE,\"hours\":24,\"email\":\"not an address\"}"
expect_error 400 "bad e-mail address"
req POST /api/reports "{\"kind\":\"device\",\"id\":$DEVICE,\"hours\":0,\"email\":\"ops@example.com\"}"
expect_error 400 "hours out of range"
req POST /api/reports '{"kind":"device","id":99999999,"hours":24,"email":"ops@example.com"}'
expect_error 404 "unknown device"
req GET /api/jobs/987654321
expect_error 404 "unknown job id"
KEY=ak_not_a_key req POST /api/reports "{\"kind\":\"device\",\"id\":$DEVICE,\"email\":\"ops@example.com\"}"
expect_error 401 "unknown API key"
check '[ "$(sql "SELECT count(*) FROM reports")" -eq 0 ]' "no job was recorded for bad requests"

# --- one good job, one whose target is gone, one bogus entry
enqueue 1 device
good=$(tail -1 "$ASYNC_TMP/jobs")
poison=$(sql "WITH r AS (INSERT INTO reports (user_id, kind, target_id, hours, email, status)
               VALUES (1, 'device', 77777777, 24, 'ops@example.com', 'queued') RETURNING id)
              INSERT INTO outbox (report_id, created_at)
              SELECT id, now() - interval '1 minute' FROM r RETURNING report_id")
rcli XADD "$STREAM" '*' report not-a-number >/dev/null
note "good job $good, poison job $poison (device 77777777 does not exist; relayed from the outbox)"

start_worker "$SINK_URL" --max-deliveries 3 --claim-idle-ms 200 --relay-every-ms 200 \
    --exit-when-idle
for ((i = 0; i < 600; i++)); do
    ab_pid_alive "$WORKER_PID" || break
    sleep 0.1
done
ab_pid_alive "$WORKER_PID" && fail "the worker did not become idle within 60 s"
wait "$WORKER_PID" || fail "the worker exited non-zero"

check '[ "$(job_status "$good")" = done ]' "the good job is done"
check '[ "$(job_status "$poison")" = failed ]' "GET /api/jobs/$poison says failed"
error=$(jq -r '.error // .job.error' "$ASYNC_TMP/body")
note "poison job error: $error"
check '[[ "$error" == *"dead-lettered after 4 deliveries"*"77777777 not found"* ]]' \
    "the error says why and after how many deliveries"
check '[ "$(sql "SELECT attempts FROM reports WHERE id = $poison")" -eq 3 ]' \
    "the poison job was attempted exactly 3 times"
check '[ "$(rcli XLEN "$STREAM:dead")" -eq 2 ]' "two entries in the dead-letter stream"
check '[ "$(stat dead_lettered)" -eq 2 ]' "the dead_lettered counter says 2"
check '[ "$(rcli XLEN "$STREAM")" -eq 0 ]' "nothing left in the stream"
dl=$(rcli XRANGE "$STREAM:dead" - + | tr '\n' ' ')
check '[[ "$dl" == *"report $poison deliveries 4"* ]]' "the dead letter names the report and deliveries"
metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
for m in 'apibench_jobs_total{event="dead_lettered"} 2' 'apibench_jobs_dead_letters 2' \
    'apibench_jobs_queue_depth 0' 'apibench_jobs_total{event="completed"} 1'; do
    grep -qF "$m" <<<"$metrics" || fail "/metrics lacks '$m'"
done
note "ok"
