#!/usr/bin/env bash
# test_worker_killed - apibench-worker killed with SIGKILL five times during one run of
# 06-async under a report load.
#
# A private PostgreSQL, Redis and a slow SMTP sink (SINK_DELAY_MS per message, so that a
# kill lands mid-job). Two clients POST device reports to 06-async for the whole run. The
# worker is killed with kill -9 once it has lived MIN_LIFE_S and finished a few jobs, and
# started again at once under the same consumer name, KILLS times. After the load stops,
# the last worker works off the rest. Then:
#   - every accepted (202) job is 'done' and its e-mail reached the sink at least once;
#   - nothing is left pending in the stream;
#   - the duplicates that at-least-once delivery allows are counted and printed: extra
#     e-mails at the sink, jobs handled more than once, redeliveries skipped as done.
# Ports: services 25530-25532, sink 25533, server 18530.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/async_common.sh"
. "$(dirname "$0")/restart_common.sh"

KILLS=5
SINK_DELAY_MS=100
JOBS_BETWEEN_KILLS=3 # each worker lives until it finished this many jobs
MIN_LIFE_S=1.5       # and at least this long
TMP=$ASYNC_TMP

private_services 25530 25531 25532
async_setup apibench_t_workerkilled
start_sink 25533 "$SINK_DELAY_MS"
start_async 18530 "$SINK_URL"

LOAD="$SOURCE_DIR/tests/faults/restart_load.py"
note "load: 2 clients posting device reports to 06-async"
start_ms=$(now_ms)
python3 "$LOAD" run --target "06-async=http://127.0.0.1:$PORT" --key "$KEY" --devices "$DEVICE" \
    --ingesters 0 --readers 0 --reporters 2 --pause-ms 250 --log "$TMP/reports.jsonl" \
    --stop-file "$TMP/stop" --max-s 120 2>"$TMP/reports.err" &
LOAD_PID=$!
track_pid "$LOAD_PID"

done_count() { sql "SELECT count(*) FROM reports WHERE status = 'done'"; }
kills=0
killed_mid_job=0
start_worker "$SINK_URL" --consumer killme --claim-idle-ms 1000
while [ "$kills" -lt "$KILLS" ]; do
    base=$(done_count)
    sleep "$MIN_LIFE_S"
    for ((i = 0; i < 200; i++)); do # until it has done a few jobs (bounded: 20 s)
        [ "$(done_count)" -ge $((base + JOBS_BETWEEN_KILLS)) ] && break
        sleep 0.1
    done
    running=$(sql "SELECT count(*) FROM reports WHERE status = 'running'")
    kill -KILL "$WORKER_PID"
    wait "$WORKER_PID" 2>/dev/null || true
    kills=$((kills + 1))
    [ "$running" -gt 0 ] && killed_mid_job=$((killed_mid_job + 1))
    note "kill $kills: worker killed with $(done_count) done, $running running"
    start_worker "$SINK_URL" --consumer killme --claim-idle-ms 1000
done
touch "$TMP/stop"
stop_ms=$(now_ms)
wait "$LOAD_PID" || { cat "$TMP/reports.err" >&2; fail "the report load failed"; }

python3 "$LOAD" summary --log "$TMP/reports.jsonl" --down-ms "$stop_ms" --back-ms "$stop_ms" \
    --accepted-jobs "$TMP/accepted" >"$TMP/facts" || fail "summary failed"
note "load held: $(fact report_before_rate) req/s for $(((stop_ms - start_ms) / 1000)) s," \
    "$(fact report_requests) reports posted, $(fact report_status_202) accepted, $(fact report_failed) refused"
check '[ "$kills" -eq $KILLS ]' "the worker was killed $KILLS times"
check '[ "$(fact report_failed)" -eq 0 ]' "every report was accepted (202)"

count_jobs "$TMP/accepted" 180 # the last worker works off the rest
ids=$(paste -sd, "$TMP/accepted")
counts=$(sink_jobs)
extra_mails=$(sed -n 's/.*duplicate_messages=\([0-9]*\).*/\1/p' <<<"$counts")
redelivered=$(sql "SELECT count(*) FROM reports WHERE id IN ($ids) AND attempts > 1")
multi_mailed=$(sql "SELECT count(*) FROM reports WHERE id IN ($ids) AND mails_sent > 1")
pending=$(rcli XPENDING "$STREAM" apibench-workers | head -1)
note "jobs: accepted $JOBS_ACCEPTED, completed $JOBS_DONE, e-mailed $JOBS_MAILED; kills $kills ($killed_mid_job mid-job)"
note "duplicates: $extra_mails extra e-mails at the sink, $redelivered jobs handled more than once," \
    "$multi_mailed recorded with mails_sent > 1; worker stats: completed=$(stat completed)" \
    "reclaimed=$(stat reclaimed) duplicate_skipped=$(stat duplicate_skipped); pending in the stream: ${pending:-0}"
check '[ "$JOBS_DONE" -eq "$JOBS_ACCEPTED" ]' "every accepted job completed ($JOBS_DONE of $JOBS_ACCEPTED)"
check '[ "$JOBS_MAILED" -eq "$JOBS_ACCEPTED" ]' "every accepted job was e-mailed at least once ($JOBS_MAILED of $JOBS_ACCEPTED)"
check '[ "$killed_mid_job" -ge 1 ]' "at least one kill landed while a job was running"
check '[ "${pending:-0}" -eq 0 ]' "nothing is left pending in the stream (${pending:-0})"
check '[ $(($(stat completed) + $(stat duplicate_skipped))) -ge "$JOBS_ACCEPTED" ]' \
    "completed ($(stat completed)) + duplicate_skipped ($(stat duplicate_skipped)) account for all $JOBS_ACCEPTED jobs"
note "ok"
