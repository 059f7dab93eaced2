#!/usr/bin/env bash
# test_ingest_concurrent.sh - POST /api/devices/{id}/readings without a global lock.
#
#  1. Ingests into different devices do not wait for each other: while a transaction of
#     our own holds device A's row, an ingest into A waits and one into B completes. With
#     --ingest-lock (the design before readings.id had a sequence) B waits behind A on the
#     advisory lock instead. Both query sets (01-baseline, 04-pool).
#  2. Servers with and without --ingest-lock, of both query sets, ingest concurrently into
#     one database: every acknowledged (201) reading is there, once, with a distinct id
#     from the sequence, and no request fails (a colliding id would be a 500).
# Database apibench_t_ingest, ports 18361-18364.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api_common.sh"

api_setup apibench_t_ingest
ADMIN=${KEY[1]} # sees every site
SEEDED=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT max(id) FROM readings")
q() { "$PSQL" -X -At "$T_DATABASE_URL" -c "$1"; }

start_build 01-baseline 18361
start_build 01-baseline 18362 --ingest-lock
start_build 04-pool 18363
start_build 04-pool 18364 --ingest-lock

# batch FIRST_EPOCH N - a JSON batch of N readings one second apart from FIRST_EPOCH.
batch() {
    jq -cn --argjson t "$1" --argjson n "$2" \
        '{readings: [range($n) | {timestamp: (($t + .) | todate), temperature: 20.5,
          humidity: 40, battery: 80, rssi: -60}]}'
}

# post PORT DEVICE BODY OUT - one ingest; writes the HTTP status to OUT.
post() {
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -X POST -H "X-API-Key: $ADMIN" \
        -H 'Content-Type: application/json' --data-binary "$3" \
        "http://127.0.0.1:$1/api/devices/$2/readings" >"$4" || echo 000 >"$4"
}

# wait_for SQL WHAT - polls SQL (a count) until it is at least 1, for at most 20 s.
wait_for() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(q "$1")" -ge 1 ] && return 0
        sleep 0.1
    done
    fail "timed out waiting for $2"
}

WAITING="SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
    AND application_name <> 'ingest_holder' AND wait_event_type = 'Lock'"

# --- 1. who waits for whom
DEV_A=21 DEV_B=22 T=$(date -d '2020-06-01 UTC' +%s)
for pair in "01-baseline 18361 18362" "04-pool 18363 18364"; do
    read -r build seq_port lock_port <<<"$pair"
    for mode in sequence locked; do
        port=$seq_port
        [ $mode = locked ] && port=$lock_port
        # our transaction holds device A's row (an ingest into A locks it: FK check, UPDATE)
        PGAPPNAME=ingest_holder "$PSQL" -X -q "$T_DATABASE_URL" \
            -c "BEGIN; SELECT 1 FROM devices WHERE id = $DEV_A FOR UPDATE; SELECT pg_sleep(60); COMMIT;" \
            >/dev/null 2>&1 &
        holder=$!
        track_pid $holder
        wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ingest_holder'
            AND query LIKE '%pg_sleep%' AND state = 'active'" "the row lock to be held"
        post "$port" $DEV_A "$(batch $T 5)" "$API_TMP/a" &
        a=$!
        wait_for "$WAITING" "$build ($mode): the ingest into device $DEV_A to wait for the row"
        T=$((T + 100))
        if [ $mode = sequence ]; then
            post "$port" $DEV_B "$(batch $T 5)" "$API_TMP/b"
            check '[ "$(cat "$API_TMP/b")" = 201 ]' "$build: an ingest into device $DEV_B completes while one into $DEV_A waits (got $(cat "$API_TMP/b"))"
            check 'ab_pid_alive $a' "$build: the ingest into device $DEV_A is still waiting"
        else
            post "$port" $DEV_B "$(batch $T 5)" "$API_TMP/b" &
            b=$!
            wait_for "$WAITING AND wait_event = 'advisory'" \
                "$build --ingest-lock: the ingest into device $DEV_B to wait on the global lock"
            check 'ab_pid_alive $b' "$build --ingest-lock: the ingest into device $DEV_B waits behind $DEV_A"
        fi
        q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'ingest_holder'" >/dev/null
        wait $a
        [ $mode = locked ] && wait $b
        wait $holder 2>/dev/null || true
        check '[ "$(cat "$API_TMP/a")" = 201 ] && [ "$(cat "$API_TMP/b")" = 201 ]' \
            "$build ($mode): both ingests are acknowledged once the row is free"
        T=$((T + 100))
    done
done
note "different devices do not wait for each other without --ingest-lock; they do with it"

# --- 2. locked and sequence paths together: every acknowledged reading, once, no collision
CLIENTS=8 REQUESTS=16 ROWS=20
T0=$(date -d '2020-01-01 UTC' +%s)
PORTS=(18361 18362 18363 18364)
clients=()
for ((c = 0; c < CLIENTS; c++)); do
    (
        for ((r = 0; r < REQUESTS; r++)); do
            post "${PORTS[$(((c + r) % 4))]}" $((100 + c)) "$(batch $((T0 + c * 100000 + r * 100)) $ROWS)" \
                "$API_TMP/s.$c.$r"
        done
    ) &
    clients+=($!)
    track_pid $!
done
for pid in "${clients[@]}"; do wait "$pid"; done
statuses=$(cat "$API_TMP"/s.* | sort | uniq -c | tr -s ' ' | tr '\n' ';')
acked=$(cat "$API_TMP"/s.* | grep -c '^201$' || true)
check '[ "$acked" = $((CLIENTS * REQUESTS)) ]' "every concurrent ingest was acknowledged: $statuses"
for ((c = 0; c < CLIENTS; c++)); do
    want=$(($(cat "$API_TMP"/s.$c.* | grep -c '^201$') * ROWS))
    got=$(q "SELECT count(*) || ' ' || count(DISTINCT \"timestamp\") FROM readings
        WHERE device_id = $((100 + c)) AND \"timestamp\" < '2020-02-01'")
    check '[ "$got" = "$want $want" ]' "device $((100 + c)) holds each acknowledged reading once: $got, expected $want"
done
ids=$(q "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || bool_and(id > $SEEDED)
    FROM readings WHERE \"timestamp\" < '2020-02-01'")
total=$((CLIENTS * REQUESTS * ROWS))
check '[ "$ids" = "$total $total true" ]' "$total readings with distinct ids from the sequence, after the seeded ones: $ids"
seq=$(q "SELECT last_value >= (SELECT max(id) FROM readings) FROM readings_id_seq")
check '[ "$seq" = t ]' "the sequence is past every id"
note "ok: $total readings from locked and lock-free servers at once, distinct ids"
