#!/usr/bin/env bash
# test_services.sh - the private services behave as scripts/services promises: a second
# start finds them running, status is right, redis alone stops and starts, every URL
# answers (each postgres role, redis, the SMTP sink with its log and count), and
# pg_stat_statements is preloaded. Leaves all three running for the other tests.
. "$(dirname "$0")/lib.sh"

SERVICES=$SOURCE_DIR/scripts/services
apibench_env

# ---- a second start reports "already running" for the private services
out=$("$SERVICES" start 2>&1) || fail "second start failed: $out"
printf '%s\n' "$out"
if [ "$DATABASE_URL" = "$APIBENCH_PRIVATE_DATABASE_URL" ]; then
    check 'grep -q "^postgres already running on 127.0.0.1:$APIBENCH_PG_PORT" <<<"$out"' \
        "second start says postgres is already running"
fi
if [ "$REDIS_URL" = "$APIBENCH_PRIVATE_REDIS_URL" ]; then
    check 'grep -q "^redis already running on 127.0.0.1:$APIBENCH_REDIS_PORT" <<<"$out"' \
        "second start says redis is already running"
fi
if [ "$SMTP_URL" = "$APIBENCH_PRIVATE_SMTP_URL" ]; then
    check 'grep -q "^smtp already running on 127.0.0.1:$APIBENCH_SMTP_PORT" <<<"$out"' \
        "second start says smtp is already running"
fi

# ---- two starts at once both succeed and leave one instance of each (flock)
"$SERVICES" start >/dev/null 2>&1 & p1=$!
"$SERVICES" start >/dev/null 2>&1 & p2=$!
check 'wait "$p1" && wait "$p2"' "two concurrent starts both succeed"

# ---- status: all up, exit 0, one line each
out=$("$SERVICES" status) || fail "status exits non-zero with all services up: $out"
check '[ "$(wc -l <<<"$out")" -eq 3 ]' "status prints one line per service: $out"

# ---- redis alone: stop, status says down (non-zero), the others stay up, start again
if [ "$REDIS_URL" = "$APIBENCH_PRIVATE_REDIS_URL" ]; then
    # Make sure it comes back even if a check below fails.
    on_exit '"$SERVICES" start redis >/dev/null'
    redis_pid=$(ab_read_pid "$APIBENCH_STATE/redis/redis.pid")
    check '[ -n "$redis_pid" ] && ab_pid_alive "$redis_pid"' "redis pid file names a live process"
    redis-cli -u "$REDIS_URL" set apibench:test_services:aof kept >/dev/null
    "$SERVICES" stop redis >/dev/null || fail "stop redis failed"
    check '! ab_pid_alive "$redis_pid"' "redis pid $redis_pid is gone after stop"
    check '! "$SERVICES" status redis >/dev/null' "status redis exits non-zero when redis is down"
    check '"$SERVICES" status postgres smtp >/dev/null' "stopping redis leaves postgres and smtp up"
    check '! "$SERVICES" status >/dev/null' "status (all) exits non-zero when one is down"
    "$SERVICES" start redis || fail "start redis failed"
    check '[ "$(redis-cli -u "$REDIS_URL" get apibench:test_services:aof)" = kept ]' \
        "a key written before the restart survives it (appendonly)"
    redis-cli -u "$REDIS_URL" del apibench:test_services:aof >/dev/null
else
    note "REDIS_URL is external: redis stop/start not tested"
fi

# ---- postgres: each role logs in; pg_stat_statements is preloaded
for url in "$DATABASE_URL" "$APP_DATABASE_URL" "$WORKER_DATABASE_URL"; do
    got=$("$PSQL" -X -At "$url" -c 'SELECT current_user || 1') || fail "cannot connect as $url"
    want=${url#*://}
    want=${want%%@*}
    want=${want%%:*}1
    check '[ "$got" = "$want" ]' "select as $url returns $want, got $got"
done
libs=$("$PSQL" -X -At "$DATABASE_URL" -c 'SHOW shared_preload_libraries')
check 'grep -qw pg_stat_statements <<<"$libs"' "pg_stat_statements is preloaded (got '$libs')"
fresh_db apibench_t_services >/dev/null
calls=$("$PSQL" -X -At "$T_DATABASE_URL" -c 'SELECT 42' -c \
    "SELECT count(*) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = 'apibench_t_services'")
calls=$(tail -n1 <<<"$calls")
check '[ "$calls" -ge 1 ]' "pg_stat_statements records statements in a fresh_db database"
drop_db apibench_t_services

# ---- redis answers
check '[ "$(redis-cli -u "$REDIS_URL" ping)" = PONG ]' "redis answers PING"
aof=$(redis-cli -u "$REDIS_URL" config get appendonly | tail -n1)
check '[ "$aof" = yes ]' "redis runs with appendonly yes (got '$aof')"

# ---- the SMTP sink accepts a message, logs it with its job id, and counts it
job="test-services-$$-$RANDOM"
mail=$(mktemp)
on_exit 'rm -f "$mail"'
printf 'From: tests@apibench.invalid\r\nTo: sink@apibench.invalid\r\nSubject: services check\r\nMessage-ID: <%s@apibench.invalid>\r\nX-Apibench-Job: %s\r\n\r\nhello\r\n' \
    "$job" "$job" >"$mail"
t0=$(date +%s%N)
curl -sS --max-time 30 "$SMTP_URL" --mail-from tests@apibench.invalid \
    --mail-rcpt sink@apibench.invalid -T "$mail" || fail "curl could not send to $SMTP_URL"
t1=$(date +%s%N)
delay=$(grep -o 'delay [0-9]* ms' "$APIBENCH_STATE/smtp/smtp.log" 2>/dev/null | tail -n1 || true)
note "sink answered one message in $(((t1 - t0) / 1000000)) ms (sink configured with ${delay:-unknown delay})"
if [ -n "${SMTP_SINK_LOG:-}" ]; then
    check 'grep -q "\"job_id\":\"$job\"" "$SMTP_SINK_LOG"' "the sink log records job $job"
    check 'grep "\"job_id\":\"$job\"" "$SMTP_SINK_LOG" | grep -q "\"subject\":\"services check\""' \
        "the sink log records the subject"
    counts=$(sink_count --job-id "$job")
    check '[ "$counts" = "messages=1 jobs=1 duplicate_jobs=0 duplicate_messages=0" ]' \
        "count --job-id reports one message, no duplicate (got '$counts')"
    # A second delivery of the same job is counted as a duplicate.
    curl -sS --max-time 30 "$SMTP_URL" --mail-from tests@apibench.invalid \
        --mail-rcpt sink@apibench.invalid -T "$mail" || fail "second send failed"
    counts=$(sink_count --job-id "$job")
    check '[ "$counts" = "messages=2 jobs=1 duplicate_jobs=1 duplicate_messages=1" ]' \
        "count --job-id reports the duplicate (got '$counts')"
else
    note "SMTP_SINK_LOG not set (external SMTP): log checks skipped"
fi

# ---- smtp alone: stop and start
if [ "$SMTP_URL" = "$APIBENCH_PRIVATE_SMTP_URL" ]; then
    on_exit '"$SERVICES" start smtp >/dev/null'
    "$SERVICES" stop smtp >/dev/null || fail "stop smtp failed"
    check '! ab_tcp_open 127.0.0.1 "$APIBENCH_SMTP_PORT"' "nothing listens on $APIBENCH_SMTP_PORT after stop smtp"
    "$SERVICES" start smtp >/dev/null || fail "start smtp failed"
    check 'ab_tcp_open 127.0.0.1 "$APIBENCH_SMTP_PORT"' "the sink listens again after start smtp"
fi

"$SERVICES" status || fail "services are not all up at the end"
note "ok"
