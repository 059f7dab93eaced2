#!/usr/bin/env bash
# test_async_worker_killed - 06-async accepts 40 report jobs (202 each); the worker is
# killed with SIGKILL partway through and restarted under the same consumer name. Every
# accepted job must reach 'done', the sink must have every job's e-mail at least once, and
# the duplicates (at-least-once delivery) are counted and printed, not hidden.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/async_common.sh"

N=40
async_setup apibench_t_async_killed
start_sink 18611 100 # slow enough that the kill lands mid-job
start_async 18610 "$SINK_URL"

enqueue "$N"
check '[ "$(wc -l <"$ASYNC_TMP/jobs")" -eq $N ]' "all $N jobs accepted"
check '[ "$(sql "SELECT count(*) FROM reports WHERE status = '"'queued'"'")" -eq $N ]' \
    "$N reports queued in postgres"

start_worker "$SINK_URL" --consumer killme --claim-idle-ms 1000
first=$WORKER_PID
for ((i = 0; i < 300; i++)); do
    [ "$(sql "SELECT count(*) FROM reports WHERE status = 'done'")" -ge 10 ] && break
    sleep 0.1
done
kill -KILL "$first"
wait "$first" 2>/dev/null || true
done_at_kill=$(sql "SELECT count(*) FROM reports WHERE status = 'done'")
running_at_kill=$(sql "SELECT count(*) FROM reports WHERE status = 'running'")
note "killed the worker with $done_at_kill done, $running_at_kill running"
check '[ "$done_at_kill" -lt $N ]' "the worker was killed before finishing"

# The same consumer name: the restarted worker re-reads its own pending entries first.
start_worker "$SINK_URL" --consumer killme --claim-idle-ms 1000 --exit-when-idle
wait_done "$N" 120
wait "$WORKER_PID" || fail "the restarted worker exited non-zero"

check '[ "$(sql "SELECT count(*) FROM reports WHERE status <> '"'done'"'")" -eq 0 ]' \
    "every accepted job is done"
for id in $(head -3 "$ASYNC_TMP/jobs"); do
    check '[ "$(job_status "$id")" = done ]' "GET /api/jobs/$id says done"
done
counts=$(sink_jobs)
note "sink: $counts"
jobs_mailed=$(sed -n 's/.*\bjobs=\([0-9]*\).*/\1/p' <<<"$counts")
check '[ "$jobs_mailed" -eq $N ]' "the sink received an e-mail for each of the $N jobs"
for id in $(cat "$ASYNC_TMP/jobs"); do
    [ "$(sink_jobs --job-id "$id" | sed -n 's/^messages=\([0-9]*\).*/\1/p')" -ge 1 ] ||
        fail "no e-mail for job $id"
done
check '[ "$(rcli XLEN "$STREAM")" -eq 0 ]' "the stream is empty (all acknowledged)"
redelivered=$(sql "SELECT count(*) FROM reports WHERE attempts > 1")
multi_recorded=$(sql "SELECT count(*) FROM reports WHERE mails_sent > 1")
note "duplicates: sink $(sed -n 's/.*duplicate_messages=\([0-9]*\).*/\1/p' <<<"$counts") extra e-mails," \
    "$redelivered jobs handled more than once (attempts > 1), $multi_recorded with mails_sent > 1"
note "stats: completed=$(stat completed) started=$(stat started) reclaimed=$(stat reclaimed)" \
    "duplicate_skipped=$(stat duplicate_skipped) redelivered_completed=$(stat redelivered_completed)"
# A kill between the 'done' UPDATE and the XACK leaves a job done but not counted as
# completed; its redelivery is then skipped and counted as duplicate_skipped.
check '[ "$(stat completed)" -le $N ] && [ $(($(stat completed) + $(stat duplicate_skipped))) -ge $N ]' \
    "completed ($(stat completed)) + duplicate_skipped ($(stat duplicate_skipped)) account for all $N jobs"
note "ok"
