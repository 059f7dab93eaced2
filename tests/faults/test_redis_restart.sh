#!/usr/bin/env bash
# test_redis_restart - Redis stopped and started again while the cache builds serve a
# read load and 06-async accepts report jobs.
#
# A private PostgreSQL, Redis and SMTP sink (own state folder and ports). 03-cache,
# 04-pool, 05-gzip and 06-async run with a short L1 lifetime (L1_TTL_MS), so that most hits
# come from Redis (L2). Three clients read a small set of keys from the four builds in
# turn; one client POSTs device reports to 06-async, and apibench-worker works them off.
# Redis is stopped for OUTAGE_S and started again. Then:
#   - the cache builds failed open: every read answered 200 throughout, and they counted
#     the Redis errors (apibench_cache_lookups_total{level="l2",result="error"});
#   - the hit rate recovers: once Redis is back (after SETTLE_S for the reconnect), no more
#     L2 errors, and the hit rate is back to at least 80% of what it was before;
#   - every report job 06-async accepted (202, also while Redis was down: the outbox)
#     completes, and the sink has an e-mail for each.
# Prints the load held, the answers by status, hit rates and L2 errors per window, and the
# jobs accepted, completed and duplicated. Ports: services 25520-25522, servers 18520-18523.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/async_common.sh"
. "$(dirname "$0")/restart_common.sh"

OUTAGE_S=3
STEADY_S=4
SETTLE_S=2
L1_TTL_MS=300
BUILDS=(03-cache 04-pool 05-gzip 06-async)
TMP=$ASYNC_TMP

private_services 25520 25521 25522
async_setup apibench_t_redisrestart
SINK_LOG=$SMTP_SINK_LOG
DEVICES=$(user1_devices 4)

start_builds 18520 "$APP_URL" "${BUILDS[@]}" -- --l1-ttl-ms "$L1_TTL_MS"
start_worker "$SMTP_URL" --claim-idle-ms 2000

# cache_counters BUILD - "l1_hit l1_miss l2_hit l2_miss l2_error" from BUILD's /metrics.
cache_counters() {
    curl -s --max-time 10 "http://127.0.0.1:${PORT_OF[$1]}/metrics" | awk '
        $1 ~ /^apibench_cache_lookups_total\{/ {
            split($1, p, "\""); v[p[2] "_" p[4]] = $2 }
        END { printf "%d %d %d %d %d\n", v["l1_hit"], v["l1_miss"], v["l2_hit"], v["l2_miss"], v["l2_error"] }'
}
# snapshot NAME - records every build's cache counters as $TMP/NAME.BUILD.
snapshot() { local b; for b in "${BUILDS[@]}"; do cache_counters "$b" >"$TMP/$1.$b"; done; }
# window FROM TO BUILD - "hit_rate l2_errors lookups" between two snapshots.
window() {
    paste -d' ' "$TMP/$1.$3" "$TMP/$2.$3" | awk '{
        l1h = $6 - $1; l1m = $7 - $2; l2h = $8 - $3; l2e = $10 - $5; n = l1h + l1m
        printf "%.3f %d %d\n", n ? (l1h + l2h) / n : 0, l2e, n }'
}

LOAD="$SOURCE_DIR/tests/faults/restart_load.py"
note "load: 3 readers over ${BUILDS[*]} (few keys), 1 reporter on 06-async"
python3 "$LOAD" run "${TARGETS[@]}" --key "$KEY" --devices "$DEVICES" --ingesters 0 \
    --readers 3 --read-limits 3 --log "$TMP/reads.jsonl" --stop-file "$TMP/stop" --max-s 120 \
    2>"$TMP/reads.err" &
READS_PID=$!
track_pid "$READS_PID"
python3 "$LOAD" run --target "06-async=http://127.0.0.1:${PORT_OF[06-async]}" --key "$KEY" \
    --devices "$DEVICE" --ingesters 0 --readers 0 --reporters 1 --pause-ms 200 \
    --log "$TMP/reports.jsonl" --stop-file "$TMP/stop" --max-s 120 2>"$TMP/reports.err" &
REPORTS_PID=$!
track_pid "$REPORTS_PID"

sleep 1 # warm the caches
snapshot start
sleep "$STEADY_S"
down_ms=$(now_ms)
snapshot down
"$SOURCE_DIR/scripts/services" stop redis >/dev/null || fail "cannot stop the private redis"
sleep "$OUTAGE_S"
"$SOURCE_DIR/scripts/services" start redis >/dev/null || fail "cannot start the private redis"
back_ms=$(now_ms)
snapshot back
sleep "$SETTLE_S"
snapshot settled
sleep "$STEADY_S"
snapshot end
touch "$TMP/stop"
wait "$READS_PID" || { cat "$TMP/reads.err" >&2; fail "the read load failed"; }
wait "$REPORTS_PID" || { cat "$TMP/reports.err" >&2; fail "the report load failed"; }

python3 "$LOAD" summary --log "$TMP/reads.jsonl" --down-ms "$down_ms" --back-ms "$back_ms" \
    >"$TMP/facts" || fail "summary failed"
python3 "$LOAD" summary --log "$TMP/reports.jsonl" --down-ms "$down_ms" --back-ms "$back_ms" \
    --accepted-jobs "$TMP/accepted" >>"$TMP/facts" || fail "summary failed"

for kind in read report; do
    note "$kind load held: before $(fact ${kind}_before_rate) req/s, outage $(fact ${kind}_outage_rate)" \
        "req/s, after $(fact ${kind}_after_rate) req/s; answers by status: $(statuses $kind)"
done
for b in "${BUILDS[@]}"; do
    read -r hr_before _ n_before <<<"$(window start down "$b")"
    read -r hr_outage err_outage n_outage <<<"$(window down back "$b")"
    read -r hr_after err_after n_after <<<"$(window settled end "$b")"
    note "$b: hit rate before $hr_before ($n_before lookups), during the outage $hr_outage" \
        "($err_outage L2 errors, $n_outage lookups), after $hr_after ($err_after L2 errors, $n_after lookups)"
    check '[ "$err_outage" -gt 0 ]' "$b counted Redis errors during the outage"
    check '[ "$err_after" -eq 0 ]' "$b has no Redis errors ${SETTLE_S}s after Redis is back ($err_after)"
    check 'awk -v a="$hr_after" -v b="$hr_before" "BEGIN { exit !(a >= 0.8 * b && b > 0) }"' \
        "$b's hit rate recovered (before $hr_before, after $hr_after)"
    check 'ab_pid_alive "${PID_OF[$b]}"' "$b is still running"
done
check '[ "$(fact read_outage_requests)" -gt 0 ]' "reads went on during the outage"
check '[ "$(fact read_failed)" -eq 0 ]' "every read answered 200 (fail open): $(statuses read)"
check '[ "$(fact report_outage_requests)" -gt 0 ]' "reports were posted during the outage"
check '[ "$(fact report_failed)" -eq 0 ]' "every report was accepted (202): $(statuses report)"

# Every accepted job completes: the worker relays the outbox and works the stream off.
count_jobs "$TMP/accepted" 120
note "jobs: accepted $JOBS_ACCEPTED, completed $JOBS_DONE, e-mailed $JOBS_MAILED; sink: $(sink_jobs);" \
    "worker stats: completed=$(stat completed) relayed=$(stat relayed) duplicate_skipped=$(stat duplicate_skipped)"
check '[ "$JOBS_ACCEPTED" -gt 0 ]' "report jobs were accepted"
check '[ "$JOBS_DONE" -eq "$JOBS_ACCEPTED" ]' "every accepted job completed ($JOBS_DONE of $JOBS_ACCEPTED)"
check '[ "$JOBS_MAILED" -eq "$JOBS_ACCEPTED" ]' "every accepted job was e-mailed ($JOBS_MAILED of $JOBS_ACCEPTED)"
note "ok"
