#!/usr/bin/env bash
# test_async_smtp_down - with the SMTP sink down, the worker retries each e-mail with
# exponential backoff (the retried counter grows) and no job is marked done; once the sink
# is back, every job completes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/async_common.sh"

N=6
async_setup apibench_t_async_smtp
start_sink 18631 0
start_async 18630 "$SINK_URL"
stop_sink # down before any job is handled

enqueue "$N"
WORKER_ARGS=(--consumer smtp1 --mail-retries 2 --mail-backoff-ms 100 --claim-idle-ms 500
    --max-deliveries 1000)
start_worker "$SINK_URL" "${WORKER_ARGS[@]}"
for ((i = 0; i < 300; i++)); do
    [ "$(stat retried)" -ge 6 ] && break
    sleep 0.1
done
retried=$(stat retried)
note "while the sink is down: retried=$retried failed_attempts=$(stat failed)" \
    "statuses: $(sql "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM reports GROUP BY 1) s")"
check '[ "$retried" -ge 6 ]' "the worker retried the e-mail at least 6 times"
check '[ "$(sql "SELECT count(*) FROM reports WHERE status = '"'done'"'")" -eq 0 ]' \
    "no job is done while the sink is down"
check '[ -n "$(sql "SELECT error FROM reports WHERE error LIKE '"'%cannot send e-mail%'"' LIMIT 1")" ]' \
    "the failed attempt's reason is recorded on the report"
check '[ "$(stat dead_lettered)" -eq 0 ]' "nothing was dead-lettered"

# SIGTERM: the worker finishes its current job (a failed attempt) and exits 0; its
# successor (same consumer name) starts by re-reading the pending entries it inherits.
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" || fail "the worker did not exit 0 on SIGTERM"
grep -q "stopped" "$ASYNC_TMP/worker.log" || fail "the worker did not stop gracefully"
start_worker "$SINK_URL" "${WORKER_ARGS[@]}"
sleep 1
start_sink 18631 0
wait_done "$N" 120
counts=$(sink_jobs)
note "sink back: $counts; retried=$(stat retried) completed=$(stat completed)"
check '[ "$(sed -n "s/.*\bjobs=\([0-9]*\).*/\1/p" <<<"$counts")" -eq $N ]' "$N jobs e-mailed"
check '[ "$(sql "SELECT count(*) FROM reports WHERE error IS NOT NULL")" -eq 0 ]' \
    "done jobs carry no error"
note "ok"
