#!/usr/bin/env bash
# test_pool.sh - 04-pool's bounded pool against real PostgreSQL.
#
#  1. Exhaustion: with --pool-max 2, two requests blocked on a table lock hold both
#     connections; a third request waits the acquire timeout and gets 503 with
#     Retry-After and a JSON error; the blocked ones finish with 200 once the lock goes.
#  2. Reuse: many requests open no more connections than the pool's bound.
#  3. Broken connections: after every pooled backend is terminated, the server recovers
#     without a restart (broken connections are closed and replaced).
# Database apibench_t_strat_pool; port 18410.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
SERVER=$(require_bin apibench-04-pool)
CLI=$(require_bin apibench)
DB=apibench_t_strat_pool
PORT=18410
SEED=12

seeded_db "$DB" "$SEED"
read -r _ _ KEY < <("$CLI" keys --seed "$SEED" | head -n 1)
[ -n "${KEY:-}" ] || fail "apibench keys printed no key"

TMP=$(mktemp -d /tmp/apibench-t-strat-pool.XXXXXX)
on_exit "rm -rf '$TMP'"
"$SERVER" --port "$PORT" --database-url "$T_APP_DATABASE_URL" --threads 8 --quiet \
    --pool-max 2 --pool-min 1 --pool-acquire-timeout-ms 300 >"$TMP/server.log" 2>&1 &
track_pid $!
wait_http "http://127.0.0.1:$PORT/healthz" 30 || { cat "$TMP/server.log" >&2; fail "04-pool did not start"; }

# 04-pool caches too: each request below uses its own limit, so that it misses the cache
# and needs a connection.
URL="http://127.0.0.1:$PORT/api/readings/latest?limit"
metric() {
    curl -s --max-time 10 "http://127.0.0.1:$PORT/metrics" |
        awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}
# backends PREDICATE - how many of this server's backends match PREDICATE (SQL).
backends() {
    "$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT count(*) FROM pg_stat_activity WHERE
        datname = '$DB' AND application_name = '04-pool' AND ($1)"
}

status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-API-Key: $KEY" "$URL=10")
check '[ "$status" = 200 ]' "GET latest answers 200, got $status"

# ---------------------------------------------------------------- 1. exhaustion -> 503
timeouts_before=$(metric apibench_pool_timeouts_total)
"$PSQL" -X -q "$T_DATABASE_URL" -c "BEGIN; LOCK TABLE readings IN ACCESS EXCLUSIVE MODE;
    SELECT pg_sleep(12); COMMIT;" >/dev/null 2>&1 &
LOCKER=$!
track_pid "$LOCKER"
held=0
for ((i = 0; i < 100; i++)); do # until the lock is held (a loaded machine may be slow)
    held=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT count(*) FROM pg_locks l
        JOIN pg_database d ON d.oid = l.database AND d.datname = current_database()
        WHERE l.relation = 'readings'::regclass AND l.mode = 'AccessExclusiveLock' AND l.granted")
    [ "$held" -ge 1 ] && break
    sleep 0.1
done
check '[ "$held" -ge 1 ]' "the test holds an exclusive lock on readings"
# One request at a time: a handler blocked on the lock holds its HTTP thread, and a
# connection that thread had already accepted would wait behind it (the documented
# thread model), so the second request goes out once the first is blocked in Postgres.
waiting=0
for i in 1 2; do
    curl -s -o "$TMP/blocked$i" -w '%{http_code}' --max-time 30 -H "X-API-Key: $KEY" \
        "$URL=$((10 + i))" >"$TMP/blocked$i.status" &
    track_pid $!
    for ((k = 0; k < 50; k++)); do # until this one holds a connection, blocked on the lock
        waiting=$(backends "wait_event_type = 'Lock'")
        [ "$waiting" -ge "$i" ] && break
        sleep 0.1
    done
done
[ "$waiting" = 2 ] || "$PSQL" -X "$T_DATABASE_URL" -c "SELECT pid, application_name, state, wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity WHERE datname = '$DB'" >&2
check '[ "$waiting" = 2 ]' "two requests hold both pool connections, blocked on the lock ($waiting)"

curl -s -D "$TMP/headers" -o "$TMP/body" -w '%{http_code}' --max-time 10 -H "X-API-Key: $KEY" \
    "$URL=13" >"$TMP/status"
status=$(cat "$TMP/status")
check '[ "$status" = 503 ]' "a third request gets 503 when the pool is exhausted, got $status"
check 'grep -qi "^retry-after: *1" "$TMP/headers"' "the 503 carries Retry-After: 1"
check 'grep -q "connection pool exhausted" "$TMP/body"' "the 503 body says why: $(cat "$TMP/body")"
check 'jq -e ".error.status == 503" "$TMP/body" >/dev/null' "the 503 body is the JSON error shape"
timeouts_after=$(metric apibench_pool_timeouts_total)
check '[ "$timeouts_after" -gt "$timeouts_before" ]' "apibench_pool_timeouts_total grew: $timeouts_before -> $timeouts_after"

wait "$LOCKER" 2>/dev/null || true
for i in 1 2; do
    for ((k = 0; k < 100; k++)); do
        [ -s "$TMP/blocked$i.status" ] && break
        sleep 0.1
    done
    s=$(cat "$TMP/blocked$i.status")
    check '[ "$s" = 200 ]' "blocked request $i finishes with 200 after the lock, got $s"
done

# ---------------------------------------------------------------- 2. reuse
opened_before=$(metric apibench_db_connections_opened_total)
for i in $(seq 1 40); do
    curl -s -o /dev/null --max-time 10 -H "X-API-Key: $KEY" "$URL=$((20 + i))"
done
opened_after=$(metric apibench_db_connections_opened_total)
check '[ $((opened_after - opened_before)) -le 2 ]' "40 requests open at most pool-max new connections: $opened_before -> $opened_after"
check '[ "$(backends true)" -le 2 ]' "never more than pool-max backends"

# ---------------------------------------------------------------- 3. broken connections
killed=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT count(pg_terminate_backend(pid)) FROM
    pg_stat_activity WHERE datname = '$DB' AND application_name = '04-pool'")
note "terminated $killed pooled backends"
ok=no
for ((i = 0; i < 10; i++)); do # the first uses may find a dead connection (503); then 200
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-API-Key: $KEY" "$URL=$((70 + i))")
    if [ "$status" = 200 ]; then
        ok=yes
        break
    fi
done
check '[ "$ok" = yes ]' "the server recovers after its connections were killed, last status $status"
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-API-Key: $KEY" "$URL=90")
check '[ "$status" = 200 ]' "and keeps answering 200, got $status"
note "ok"
