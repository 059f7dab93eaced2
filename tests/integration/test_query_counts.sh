#!/usr/bin/env bash
# test_query_counts.sh - statements per request, per endpoint, per build, measured two
# ways that must agree: the server's apibench_db_queries_total and PostgreSQL's own
# pg_stat_statements calls for the server role in the test database. The measured counts
# are then held to the query sets' documented shapes (queries_naive.c, queries_optimised.c):
# 01 does 5 + S on the headline endpoint (S = distinct sites on the page), 02 on does 2,
# and a cached build does none on a repeat. Database apibench_t_api_counts, ports 18321-18327.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api_common.sh"

api_setup apibench_t_api_counts
ADMIN=${KEY[1]} AUDITOR=${KEY[5]}
DEV=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT min(d.id) FROM devices d WHERE d.status =
    'active' AND d.site_id IN (SELECT site_id FROM user_sites WHERE user_id = 5)")
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
BATCH="{\"readings\":[$(for t in 20 21 22; do printf '{"timestamp":"%s","temperature":%s,"humidity":40,"battery":80,"rssi":-60},' "$NOW" $t; done | sed 's/,$//')]}"

# measure PORT METHOD PATH KEY [BODY] - runs one request; sets N to the statements it
# took after checking that both counters agree.
measure() {
    local port=$1 method=$2 path=$3 key=$4 body=${5:-} s0 s1 p0 p1
    s0=$(metric "$port" apibench_db_queries_total)
    p0=$(pgss_calls)
    req "$method" "$port" "$path" "$key" "$body"
    s1=$(metric "$port" apibench_db_queries_total)
    p1=$(pgss_calls)
    N=$((s1 - s0))
    check '[ "$N" -eq $((p1 - p0)) ]' \
        "$method $path on port $port: server counted $N statements, pg_stat_statements $((p1 - p0))"
    REPORT+=("$(printf '%-12s %-4s %-44s %3d' "${BUILD:-?}" "$method" "${path:0:44}" "$N")")
}

REPORT=()
port=18321
BASE_URL=$APP_URL
for BUILD in "${API_BUILDS[@]}"; do
    # A cache scope per build (cache_tiered scopes by database URL), so that 04 does not
    # start with 03's cached callers and pages.
    APP_URL="${BASE_URL}_$BUILD"
    start_build "$BUILD" "$port"
    p=$port

    measure $p GET "/api/readings/latest" "$ADMIN"
    expect 200 "$BUILD latest"
    sites=$(jq '[.readings[].site_id] | unique | length' "$API_TMP/body")
    case $BUILD in
    01-*) want=$((5 + sites)) ;; # key, user, sites, count, page, one per site on the page
    *) want=2 ;;                  # auth+permissions, page
    esac
    check '[ "$N" -eq "$want" ]' "$BUILD first latest: $N statements, expected $want"
    latest_cold=$N

    measure $p GET "/api/readings/latest" "$ADMIN"
    case $BUILD in
    01-* | 02-*) want=$latest_cold ;;
    *) want=0 ;; # auth and page both from the cache
    esac
    check '[ "$N" -eq "$want" ]' "$BUILD repeated latest: $N statements, expected $want"

    cursor=$(jq -r .next_cursor "$API_TMP/body")
    measure $p GET "/api/readings/latest?cursor=$cursor" "$ADMIN"
    expect 200 "$BUILD latest page 2"
    sites=$(jq '[.readings[].site_id] | unique | length' "$API_TMP/body")
    case $BUILD in
    01-*) want=$((5 + sites)) ;;
    02-*) want=2 ;;
    *) want=1 ;; # the caller is cached, the page is not
    esac
    check '[ "$N" -eq "$want" ]' "$BUILD latest page 2: $N statements, expected $want"

    measure $p GET "/api/devices/$DEV" "$AUDITOR"
    expect 200 "$BUILD device"
    case $BUILD in 01-*) want=10 ;; *) want=2 ;; esac
    check '[ "$N" -eq "$want" ]' "$BUILD device detail: $N statements, expected $want"

    measure $p GET "/api/devices/$DEV/readings" "$AUDITOR"
    expect 200 "$BUILD device readings"
    case $BUILD in 01-*) want=5 ;; 02-*) want=2 ;; *) want=1 ;; esac
    check '[ "$N" -eq "$want" ]' "$BUILD device readings: $N statements, expected $want"

    measure $p POST "/api/devices/$DEV/readings" "$AUDITOR" "$BATCH"
    expect 201 "$BUILD ingest"
    # 01: key, user, sites, device, BEGIN, 3 INSERTs, UPDATE, COMMIT; 02: auth, device,
    # INSERT; cached builds: the caller is cached
    case $BUILD in 01-*) want=10 ;; 02-*) want=3 ;; *) want=2 ;; esac
    check '[ "$N" -eq "$want" ]' "$BUILD ingest of 3 rows: $N statements, expected $want"

    measure $p GET "/api/devices/$DEV/readings" "$AUDITOR"
    case $BUILD in 01-*) want=5 ;; 02-*) want=2 ;; *) want=1 ;; esac
    check '[ "$N" -eq "$want" ]' "$BUILD device readings after ingest (invalidated): $N, expected $want"

    measure $p GET "/api/readings/latest?limit=7" "nope"
    expect 401 "$BUILD bad key"
    case $BUILD in 01-*) want=1 ;; *) want=1 ;; esac
    check '[ "$N" -eq "$want" ]' "$BUILD unknown key: $N statements, expected $want"

    measure $p GET "/api/readings/latest?limit=0" "$ADMIN"
    expect 400 "$BUILD bad limit"
    case $BUILD in 01-*) want=3 ;; 02-*) want=1 ;; *) want=0 ;; esac
    check '[ "$N" -eq "$want" ]' "$BUILD bad limit: $N statements, expected $want"

    port=$((port + 1))
done
# --ingest-lock (the design before readings.id had a sequence) adds the lock, and in the
# optimised set the transaction around its one statement.
for BUILD in 01-baseline 02-indexes; do
    APP_URL="${BASE_URL}_locked_$BUILD"
    start_build "$BUILD" "$port" --ingest-lock
    measure $port POST "/api/devices/$DEV/readings" "$AUDITOR" "$BATCH"
    expect 201 "$BUILD --ingest-lock ingest"
    case $BUILD in 01-*) want=11 ;; *) want=6 ;; esac # + lock; + BEGIN, lock, COMMIT
    check '[ "$N" -eq "$want" ]' "$BUILD --ingest-lock ingest of 3 rows: $N statements, expected $want"
    port=$((port + 1))
done
printf '%s\n' "statements per request (server counter = pg_stat_statements):" "${REPORT[@]}"
