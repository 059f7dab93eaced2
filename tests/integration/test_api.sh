#!/usr/bin/env bash
# test_api.sh - every endpoint of every build (01-05) on a seeded scale-1 database: the
# happy paths, every kind of bad input (each a 4xx with a JSON error), auth (401/403/404),
# ingest invalidating the cache across instances, reports and jobs, and PostgreSQL being
# unreachable (503 with Retry-After, then served again once the URL is right: recovery is
# shown by a second server on the same port range, see the note at the end).
# Database apibench_t_api, ports 18311-18319.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api_common.sh"

api_setup apibench_t_api
ADMIN=${KEY[1]} AUDITOR=${KEY[5]}

# A device the auditor (user 5) cannot see, and one they can, from the data itself.
HIDDEN=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT min(d.id) FROM devices d WHERE d.site_id
    NOT IN (SELECT site_id FROM user_sites WHERE user_id = 5)")
VISIBLE=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT min(d.id) FROM devices d WHERE d.status =
    'active' AND d.site_id IN (SELECT site_id FROM user_sites WHERE user_id = 5)")
[ -n "$HIDDEN" ] && [ -n "$VISIBLE" ] || fail "seeded data lacks a hidden or a visible device"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)

port=18311
for build in "${API_BUILDS[@]}"; do
    start_build "$build" "$port" --max-body 200000
    note "$build on port $port"
    p=$port

    # ---- health and metrics (no key needed)
    req GET $p /healthz
    expect 200 "$build healthz"
    check '[ "$(jq -r .build "$API_TMP/body")" = "$build" ]' "$build healthz names the build"
    req GET $p /metrics
    expect 200 "$build metrics"
    for m in "apibench_build_info{build=\"$build\"} 1" apibench_db_queries_total \
        process_cpu_seconds_total process_resident_memory_bytes http_requests_total \
        'apibench_cache_lookups_total{level="l1",result="hit"}' \
        'apibench_response_bytes_total{stage="sent"}' apibench_pool_timeouts_total; do
        check 'grep -qF "$m" "$API_TMP/body"' "$build /metrics has $m"
    done

    # ---- the headline endpoint, three pages through next_cursor
    req GET $p "/api/readings/latest?limit=50" "$ADMIN"
    expect 200 "$build latest"
    check '[ "$(jq ".readings | length" "$API_TMP/body")" = 50 ]' "$build latest returns 50 rows"
    check '[[ "$(header Server-Timing)" == db\;dur=*cache\;dur=*render\;dur=*encode\;dur=* ]]' \
        "$build latest has Server-Timing"
    check '[[ "$(header Content-Type)" == application/json* ]]' "$build latest is JSON"
    check 'jq -e "[.readings[].timestamp] | . == (sort | reverse)" "$API_TMP/body" >/dev/null' \
        "$build latest is newest first"
    cursor=$(jq -r .next_cursor "$API_TMP/body")
    last_id=$(jq -r '.readings[-1].id' "$API_TMP/body")
    req GET $p "/api/readings/latest?limit=50&cursor=$cursor" "$ADMIN"
    expect 200 "$build latest page 2"
    check '! jq -e --argjson id "$last_id" "any(.readings[]; .id == \$id)" "$API_TMP/body" >/dev/null' \
        "$build page 2 does not repeat page 1's last row"
    req GET $p "/api/readings/latest" "$AUDITOR"
    expect 200 "$build latest (auditor)"
    check 'jq -e "[.readings[].site_id] | unique | length <= 1" "$API_TMP/body" >/dev/null' \
        "$build auditor sees only their site"

    # ---- devices
    req GET $p "/api/devices/$VISIBLE" "$AUDITOR"
    expect 200 "$build device detail"
    check 'jq -e "has(\"stats_24h\") and has(\"latest_reading\") and .id == $VISIBLE" "$API_TMP/body" >/dev/null' \
        "$build device detail shape"
    req GET $p "/api/devices/$VISIBLE/readings?hours=48&limit=5" "$AUDITOR"
    expect 200 "$build device readings"
    check 'jq -e ".device_id == $VISIBLE and .hours == 48 and (.readings | length) <= 5" "$API_TMP/body" >/dev/null' \
        "$build device readings shape"
    req GET $p "/api/devices/$HIDDEN" "$AUDITOR"
    expect_error 403 "$build someone else's device"
    req GET $p "/api/devices/$HIDDEN/readings" "$AUDITOR"
    expect_error 403 "$build someone else's device readings"
    req GET $p "/api/devices/99999999" "$ADMIN"
    expect_error 404 "$build unknown device"
    req GET $p "/api/devices/99999999/readings" "$ADMIN"
    expect_error 404 "$build unknown device readings"

    # ---- authentication
    req GET $p "/api/readings/latest"
    expect_error 401 "$build no key"
    req GET $p "/api/readings/latest" "ak_00000000000000000000000000000000"
    expect_error 401 "$build unknown key"
    req GET $p "/api/readings/latest" "' OR '1'='1"
    expect_error 401 "$build key with SQL in it"

    # ---- bad parameters: 400 with a JSON error, never a 500
    for q in "limit=0" "limit=501" "limit=abc" "limit=10.5" "limit=%27%3B%20DROP%20TABLE%20readings%3B--" \
        "limit=" "cursor=garbage" "cursor=%27%20OR%201%3D1%20--" "cursor=djF8eHx5fHo" ; do
        req GET $p "/api/readings/latest?$q" "$ADMIN"
        expect_error 400 "$build latest?$q"
    done
    for q in "hours=0" "hours=169" "hours=-1" "hours=1e3" "limit=9999"; do
        req GET $p "/api/devices/$VISIBLE/readings?$q" "$ADMIN"
        expect_error 400 "$build device readings?$q"
    done
    for id in abc 0 -1 1.5 "1%27%20OR%201%3D1" 99999999999; do
        req GET $p "/api/devices/$id" "$ADMIN"
        expect_error 400 "$build device id $id"
    done
    req GET $p "/api/nowhere" "$ADMIN"
    expect_error 404 "$build unknown route"
    req DELETE $p "/api/devices/$VISIBLE" "$ADMIN"
    expect_error 405 "$build wrong method"
    check '[ -n "$(header Allow)" ]' "$build 405 says what is allowed"

    # ---- ingest: bad bodies
    path="/api/devices/$VISIBLE/readings"
    for b in '{' 'null' '[]' '{"readings":[]}' '{"readings":"x"}' '{"readings":[1]}' \
        '{"readings":[{"timestamp":"yesterday","temperature":1,"humidity":1,"battery":1,"rssi":-1}]}' \
        '{"readings":[{"timestamp":"2026-01-01T00:00:00Z","temperature":"hot","humidity":1,"battery":1,"rssi":-1}]}' \
        '{"readings":[{"timestamp":"2026-01-01T00:00:00Z","temperature":1,"humidity":101,"battery":1,"rssi":-1}]}' \
        '{"readings":[{"timestamp":"2026-01-01T00:00:00Z","temperature":1,"humidity":1,"battery":1,"rssi":1.5}]}'; do
        req POST $p "$path" "$ADMIN" "$b"
        expect_error 400 "$build ingest body $b"
    done
    row="{\"timestamp\":\"$NOW\",\"temperature\":1,\"humidity\":1,\"battery\":1,\"rssi\":-1},"
    rows=$(for _ in $(seq 1001); do printf '%s' "$row"; done)
    req POST $p "$path" "$ADMIN" "{\"readings\":[${rows%,}]}"
    expect_error 400 "$build ingest of 1001 rows"
    { printf '{"readings":[]'; head -c 210000 /dev/zero | tr '\0' ' '; printf '}'; } >"$API_TMP/big.json"
    req POST $p "$path" "$ADMIN" "@$API_TMP/big.json"
    expect_error 413 "$build ingest over --max-body"
    req POST $p "/api/devices/$HIDDEN/readings" "$AUDITOR" \
        "{\"readings\":[{\"timestamp\":\"$NOW\",\"temperature\":1,\"humidity\":1,\"battery\":1,\"rssi\":-1}]}"
    expect_error 403 "$build ingest into someone else's device"

    # ---- ingest: the new reading is served at once (the cache was invalidated)
    req GET $p "/api/readings/latest?limit=5" "$AUDITOR" # warm the cache (03 on)
    ts=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%S.%3NZ)
    temp=$((RANDOM % 40)).25
    req POST $p "$path" "$AUDITOR" \
        "{\"readings\":[{\"timestamp\":\"$ts\",\"temperature\":$temp,\"humidity\":40,\"battery\":88,\"rssi\":-70},{\"timestamp\":\"$NOW\",\"temperature\":20,\"humidity\":41,\"battery\":87,\"rssi\":-71}]}"
    expect 201 "$build ingest"
    check '[ "$(jq -c . "$API_TMP/body")" = "{\"device_id\":$VISIBLE,\"inserted\":2}" ]' \
        "$build ingest answers {device_id, inserted}"
    req GET $p "/api/readings/latest?limit=5" "$AUDITOR"
    check 'jq -e --arg ts "$ts" --argjson t "$temp" ".readings[0].timestamp == \$ts and .readings[0].temperature == \$t" "$API_TMP/body" >/dev/null' \
        "$build latest shows the ingested reading at once"
    if [ "$build" = 04-pool ]; then
        # 03 (still running) shares Redis with 04: its cached page must be gone too.
        req GET 18313 "/api/readings/latest?limit=5" "$AUDITOR"
        check 'jq -e --arg ts "$ts" ".readings[0].timestamp == \$ts" "$API_TMP/body" >/dev/null' \
            "an ingest through 04 invalidates 03's cache (another instance)"
    fi

    # ---- reports and jobs
    for b in '{"kind":"planet","id":1,"hours":24,"email":"a@b.co"}' \
        '{"kind":"device","id":"1","hours":24,"email":"a@b.co"}' \
        '{"kind":"device","id":1,"hours":0,"email":"a@b.co"}' \
        '{"kind":"device","id":1,"hours":24,"email":"not an address"}' \
        '{"kind":"device","id":1,"hours":24,"email":"a@b.co\r\nRCPT TO:<x@y.z>"}' 'nope'; do
        req POST $p /api/reports "$ADMIN" "$b"
        expect_error 400 "$build report body $b"
    done
    req POST $p /api/reports "" '{"kind":"device","id":1,"hours":24,"email":"a@b.co"}'
    expect_error 401 "$build report without key"
    req POST $p /api/reports "$AUDITOR" "{\"kind\":\"device\",\"id\":$VISIBLE,\"hours\":2,\"email\":\"ops@example.com\"}"
    check '[ "$STATUS" = 200 ] || [ "$STATUS" = 202 ]' "$build report accepted (got $STATUS: $(body))"
    job=$(header Location)
    [ -z "$job" ] && job="/api/jobs/$(jq -r '.job.id // .job_id // .id // empty' "$API_TMP/body")"
    check '[[ "$job" =~ ^/api/jobs/[0-9]+$ ]]' "$build report names its job ($job)"
    req GET $p "$job" "$AUDITOR"
    expect 200 "$build job status"
    check 'jq -e ".job.status == \"done\" and (.report | type == \"object\")" "$API_TMP/body" >/dev/null' \
        "$build inline job is done with a result"
    req GET $p "$job" "$ADMIN"
    expect_error 404 "$build someone else's job"
    req GET $p "/api/jobs/abc" "$ADMIN"
    expect_error 400 "$build job id abc"

    check '[ "$(metric $p apibench_db_queries_total)" -gt 0 ]' "$build counted its queries"
    port=$((port + 1))
done

# ---- PostgreSQL unreachable (nothing listens on port 1): 503 JSON with Retry-After, for a
# per-request build and a pooled one; /healthz still answers (it needs no database).
for build in 01-baseline 04-pool; do
    bin=$(require_bin "apibench-$build")
    "$bin" --port $port --database-url "postgresql://apibench_app@127.0.0.1:1/nowhere" \
        --redis-url "$REDIS_URL" --pool-acquire-timeout-ms 500 --threads 2 \
        >>"$API_TMP/down-$build.log" 2>&1 &
    track_pid $!
    wait_http "http://127.0.0.1:$port/healthz" 20 || { cat "$API_TMP/down-$build.log"; fail "$build did not start without postgres"; }
    req GET $port "/api/readings/latest" "$ADMIN"
    expect_error 503 "$build with postgres unreachable"
    check '[ "$(header Retry-After)" -ge 1 ]' "$build 503 has Retry-After"
    req GET $port /healthz
    expect 200 "$build healthz without postgres"
    port=$((port + 1))
done
note "all endpoints of ${API_BUILDS[*]} passed"
