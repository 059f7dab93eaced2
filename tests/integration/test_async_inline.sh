#!/usr/bin/env bash
# test_async_inline - builds 01-05 (jobs_inline, here through 05-gzip): POST /api/reports
# builds the report and sends the e-mail inside the request and answers 200 with the job
# (done) and the report; with the mail server down it answers 502 and records the job as
# failed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/async_common.sh"

async_setup apibench_t_async_inline
start_sink 18651 0
bin=$(require_bin apibench-05-gzip)
"$bin" --port 18650 --database-url "$APP_URL" --redis-url "$REDIS_URL" --smtp-url "$SINK_URL" \
    --threads 4 --quiet >>"$ASYNC_TMP/server.log" 2>&1 &
track_pid $!
PORT=18650
wait_http "http://127.0.0.1:$PORT/healthz" 20 || { cat "$ASYNC_TMP/server.log"; fail "05-gzip did not start"; }

req POST /api/reports "{\"kind\":\"site\",\"id\":$SITE,\"hours\":48,\"email\":\"ops@example.com\"}"
[ "$STATUS" = 200 ] || { body >&2; fail "inline report: expected 200, got $STATUS"; }
job=$(jq -er '.job.id' "$ASYNC_TMP/body") || fail "no .job.id: $(body)"
check '[ "$(jq -r .job.status "$ASYNC_TMP/body")" = done ]' "the job is done in the reply"
check '[ "$(jq -r .job.mails_sent "$ASYNC_TMP/body")" = 1 ]' "one e-mail recorded"
check '[ "$(jq -r .report.kind "$ASYNC_TMP/body")" = site ]' "the reply carries the report"
devices=$(jq -r '.report.totals.devices' "$ASYNC_TMP/body")
check '[ "$devices" -eq "$(sql "SELECT count(*) FROM devices WHERE site_id = $SITE")" ]' \
    "the report covers every device of the site"
check '[ "$(sql "SELECT status || mails_sent FROM reports WHERE id = $job")" = done1 ]' \
    "postgres says done with mails_sent 1"
check '[ "$(sink_jobs --job-id "$job")" = "messages=1 jobs=1 duplicate_jobs=0 duplicate_messages=0" ]' \
    "the sink received the e-mail once, with X-Apibench-Job $job"
check '[ "$(job_status "$job")" = done ]' "GET /api/jobs/$job says done"
inline=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "apibench_reports_inline_total" { print $2 }')
check '[ "$inline" = 1 ]' "apibench_reports_inline_total is 1"

stop_sink
req POST /api/reports "{\"kind\":\"device\",\"id\":$DEVICE,\"hours\":24,\"email\":\"ops@example.com\"}"
[ "$STATUS" = 502 ] || { body >&2; fail "sink down: expected 502, got $STATUS"; }
jq -e '.error.status == 502 and (.error.message | test("report [0-9]+ failed"))' \
    "$ASYNC_TMP/body" >/dev/null || fail "502 body: $(body)"
check '[ "$(sql "SELECT count(*) FROM reports WHERE status = '"'failed'"' AND error LIKE '"'%e-mail%'"'")" -eq 1 ]' \
    "the job with the unsent e-mail is recorded as failed, with the reason"
note "ok"
