#!/usr/bin/env bash
# test_postgres_restart - PostgreSQL stopped and started again under a steady ingest load.
#
# All six builds run against a private PostgreSQL (own state folder and ports; the shared
# one is never touched). Four clients POST one reading at a time to the builds in turn and
# one client GETs readings (a new limit each time, so that no cache answers for the
# database); every answer is logged. After a few seconds PostgreSQL is stopped (fast
# shutdown), left down for OUTAGE_S, and started again. Then:
#   - every acknowledged (201) ingest is in the table: device, timestamp and values,
#     checked row by row against what each 201 acknowledged;
#   - every error answer is a 503 JSON error with Retry-After (none is a 500 or a dropped
#     connection);
#   - the pool builds (04, 05, 06) serve writes and reads again within 2 s of PostgreSQL
#     being back, without a restart; the per-request builds (01-03) recover as well.
# Prints the load held in each phase, the answers by status, and each build's recovery time.
# Ports: services 25510-25512, servers 18510-18515.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/restart_common.sh"

OUTAGE_S=3
STEADY_S=4 # load before the outage, and at least this long after PostgreSQL is back
MAX_RECOVERY_MS=2000
BUILDS=(01-baseline 02-indexes 03-cache 04-pool 05-gzip 06-async)
POOL_BUILDS=(04-pool 05-gzip 06-async)
TMP=$(mktemp -d /tmp/apibench-fault-pgrestart.XXXXXX)
on_exit "rm -rf '$TMP'"

private_services 25510 25511 25512
seeded_db apibench_t_pgrestart 1
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -f "$SOURCE_DIR/sql/async.sql" -c ANALYZE \
    >/dev/null || fail "cannot apply sql/async.sql"
KEY=$("$BUILD_DIR/apibench" keys --seed 1 | awk '$1 == 1 { print $3 }')
[ -n "$KEY" ] || fail "no API key for user 1"
sql() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -c "$1"; }
DEVICES=$(user1_devices 8)
[ -n "$DEVICES" ] || fail "user 1 has no devices"

start_builds 18510 "$T_APP_DATABASE_URL" "${BUILDS[@]}"

note "load: 4 ingest clients and 1 reader over the six builds"
python3 "$SOURCE_DIR/tests/faults/restart_load.py" run "${TARGETS[@]}" --key "$KEY" \
    --devices "$DEVICES" --ingesters 4 --readers 1 --log "$TMP/load.jsonl" \
    --stop-file "$TMP/stop" --max-s 120 2>"$TMP/load.err" &
LOAD_PID=$!
track_pid "$LOAD_PID"
sleep "$STEADY_S"

down_ms=$(now_ms)
"$SOURCE_DIR/scripts/services" stop postgres >/dev/null || fail "cannot stop the private postgres"
stopped_ms=$(now_ms)
sleep "$OUTAGE_S"
"$SOURCE_DIR/scripts/services" start postgres >/dev/null || fail "cannot start the private postgres"
back_ms=$(now_ms)
note "postgres stopped in $((stopped_ms - down_ms)) ms, down for $((back_ms - stopped_ms)) ms"
sleep "$STEADY_S"
touch "$TMP/stop"
wait "$LOAD_PID" || { cat "$TMP/load.err" >&2; fail "the load client failed"; }

python3 "$SOURCE_DIR/tests/faults/restart_load.py" summary --log "$TMP/load.jsonl" \
    --down-ms "$down_ms" --back-ms "$back_ms" --acked-csv "$TMP/acked.csv" >"$TMP/facts" ||
    fail "summary failed"

# A second restart while the builds are idle: their pools hold connections to the old
# server. A burst right after PostgreSQL is back must not be handed a dead one: every
# read answers 200 and every write 201 (writes are not retried, so only the check before
# hand-over saves them).
note "second restart with idle pools, then a burst of reads and writes"
"$SOURCE_DIR/scripts/services" stop postgres >/dev/null || fail "cannot stop the private postgres"
"$SOURCE_DIR/scripts/services" start postgres >/dev/null || fail "cannot start the private postgres"
: >"$TMP/burst"
n_posts=0
curls=()
dev=${DEVICES%%,*}
for b in "${POOL_BUILDS[@]}"; do
    p=${PORT_OF[$b]}
    for i in 1 2 3 4 5 6; do
        curl -s -o /dev/null -w "$b GET %{http_code}\n" --max-time 10 -H "X-API-Key: $KEY" \
            "http://127.0.0.1:$p/api/devices/$dev/readings?hours=168&limit=$((400 + i))" >>"$TMP/burst" &
        curls+=($!)
        ts=$(printf '2020-06-01T00:00:%02dZ' "$n_posts")
        curl -s -o /dev/null -w "$b POST %{http_code}\n" --max-time 10 -H "X-API-Key: $KEY" \
            -H 'Content-Type: application/json' --data-binary "{\"readings\":[{\"timestamp\":
            \"$ts\",\"temperature\":1.5,\"humidity\":2,\"battery\":3,\"rssi\":-4}]}" \
            "http://127.0.0.1:$p/api/devices/$dev/readings" >>"$TMP/burst" &
        curls+=($!)
        n_posts=$((n_posts + 1))
    done
done
for pid in "${curls[@]}"; do wait "$pid" || true; done
burst_bad=$(awk '!(($2 == "GET" && $3 == 200) || ($2 == "POST" && $3 == 201))' "$TMP/burst" | wc -l)
burst_rows=$(sql "SELECT count(*) FROM readings WHERE \"timestamp\" >= '2020-06-01' AND \"timestamp\" < '2020-06-02'")
note "burst after the idle restart: $(wc -l <"$TMP/burst") requests, $burst_bad not 200/201," \
    "$burst_rows of $n_posts writes stored"

# ---------------------------------------------------------------- figures
for kind in ingest read; do
    note "$kind load held: before $(fact ${kind}_before_rate) req/s ($(fact ${kind}_before_requests))," \
        "outage $(fact ${kind}_outage_rate) req/s ($(fact ${kind}_outage_requests))," \
        "after $(fact ${kind}_after_rate) req/s ($(fact ${kind}_after_requests))"
    note "$kind answers by status: $(statuses "$kind")"
    note "$kind recovery after postgres was back (ms): $(for b in "${BUILDS[@]}"; do
        printf '%s=%s ' "$b" "$(fact "${kind}_recovery_ms_$b")"; done)"
done
for b in "${POOL_BUILDS[@]}"; do
    p=${PORT_OF[$b]}
    m=$(curl -s --max-time 10 "http://127.0.0.1:$p/metrics")
    note "$b: $(awk '$1 == "apibench_pool_dead_connections_total" || $1 == "apibench_db_read_retries_total" ||
        $1 == "apibench_pool_timeouts_total" { printf "%s=%s ", $1, $2 }' <<<"$m")"
done

# ---------------------------------------------------------------- checks
check '[ "$(fact ingest_outage_requests)" -gt 0 ] && [ "$(fact ingest_status_503)" -gt 0 ]' \
    "the outage happened under load (ingest requests and 503s during it)"
check '[ "$(fact ingest_before_requests)" -gt 0 ] && [ "$(fact ingest_after_requests)" -gt 0 ]' \
    "ingest load before and after the outage"
for kind in ingest read; do
    check '[ "$(fact ${kind}_improper_errors)" -eq 0 ]' \
        "every $kind error is a 503 JSON error with Retry-After ($(fact ${kind}_improper_errors) are not)"
    for b in "${BUILDS[@]}"; do
        r=$(fact "${kind}_recovery_ms_$b")
        check '[ "$r" != never ]' \
            "$b serves ${kind}s again after postgres is back"
    done
    for b in "${POOL_BUILDS[@]}"; do
        r=$(fact "${kind}_recovery_ms_$b")
        check '[ "$r" -le $MAX_RECOVERY_MS ]' \
            "$b serves ${kind}s within $MAX_RECOVERY_MS ms of postgres being back (took $r ms)"
    done
done
check '[ "$burst_bad" -eq 0 ]' "the burst after the idle restart got no error ($burst_bad): $(
    awk '!(($2 == "GET" && $3 == 200) || ($2 == "POST" && $3 == 201))' "$TMP/burst" | sort | uniq -c | tr '\n' ' ')"
check '[ "$burst_rows" -eq "$n_posts" ]' "the burst's $n_posts writes are stored ($burst_rows)"
for b in "${BUILDS[@]}"; do
    check 'ab_pid_alive "${PID_OF[$b]}"' "$b is still the same process (no restart)"
done

# Every acknowledged reading, row by row: it is in the table once, with its values.
acked=$(fact ingest_acked)
check '[ "$(fact ingest_acked_bad_body)" -eq 0 ]' "every 201 says {device_id, inserted: 1}"
verdict=$("$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$T_DATABASE_URL" <<EOF
CREATE TEMP TABLE acked (device_id integer, ts timestamptz, temperature float8,
                         humidity float8, battery float8, rssi integer);
\copy acked FROM '$TMP/acked.csv' WITH (FORMAT csv)
SELECT (SELECT count(*) FROM acked),
       (SELECT count(*) FROM acked a WHERE NOT EXISTS (
            SELECT 1 FROM readings r WHERE r.device_id = a.device_id AND r."timestamp" = a.ts
               AND r.temperature = a.temperature AND r.humidity = a.humidity
               AND r.battery = a.battery AND r.rssi = a.rssi)),
       (SELECT count(*) FROM acked a WHERE (SELECT count(*) FROM readings r
            WHERE r.device_id = a.device_id AND r."timestamp" = a.ts) > 1),
       (SELECT count(*) FROM readings r WHERE r."timestamp" < '2020-03-01'
            AND NOT EXISTS (SELECT 1 FROM acked a WHERE a.device_id = r.device_id
                            AND a.ts = r."timestamp"));
EOF
) || fail "cannot check the acknowledged rows"
IFS='|' read -r n_acked missing doubled unacked_committed <<<"$verdict"
note "acknowledged ingests: $n_acked, missing from the table: $missing, stored twice: $doubled," \
    "committed without a 201 (answer lost in the outage): $unacked_committed"
check '[ "$n_acked" -eq "$acked" ] && [ "$acked" -gt 0 ]' "all $acked acknowledged rows were loaded for the check"
check '[ "$missing" -eq 0 ]' "every acknowledged ingest is in the table ($missing missing)"
check '[ "$doubled" -eq 0 ]' "no acknowledged ingest is stored twice ($doubled)"
note "ok"
