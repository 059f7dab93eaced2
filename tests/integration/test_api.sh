#!/usr/bin/env bash
# test_api.sh - every endpoint of every build (01-05) on a seeded scale-1 database: the
# happy paths, every kind of bad input (each a 4xx with a JSON error), auth (401/403/404),
# ingest invalidating the cache across instances, reports and jobs, and PostgreSQL being
# unreachable (503 with Retry-After), and recovery without a restart once PostgreSQL is
# reachable again (through a TCP proxy that the test stops and restarts).
# Redis unreachable: 03 and 05 serve from PostgreSQL and count L2 errors.
# 02 and 05 refuse to start without their indexes.
# Databases apibench_t_api and apibench_t_api_noidx, ports 18311-18322, 18398 (the proxy), 18399.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api_common.sh"

# ---- 02 on refuse to start without their indexes (a database seeded, no indexes yet)
apibench_env
fresh_db apibench_t_api_noidx >/dev/null
on_exit "drop_db apibench_t_api_noidx"
"$BUILD_DIR/apibench" seed --scale 1 --seed "$API_SEED" --database-url "$T_DATABASE_URL" \
    --quiet >/dev/null 2>&1 || fail "seed of apibench_t_api_noidx failed"
for build in 02-indexes 05-gzip; do
    rc=0
    out=$(timeout 20 "$(require_bin "apibench-$build")" --port 18399 --database-url "$T_APP_DATABASE_URL" \
        --redis-url "$REDIS_URL" 2>&1) || rc=$?
    check '[ "$rc" = 1 ]' "$build without indexes exits 1 (got $rc: $out)"
    check 'grep -q "missing index devices_status_id_idx.*sql/indexes_article.sql" <<<"$out"' \
        "$build names the missing index and its file ($out)"
done
"$PSQL" -X -q "$T_DATABASE_URL" -f "$SOURCE_DIR/sql/indexes_article.sql" >/dev/null
out=$(timeout 20 "$(require_bin apibench-02-indexes)" --port 18399 --database-url "$T_APP_DATABASE_URL" 2>&1) || true
check 'grep -q "missing index readings_timestamp_idx.*sql/index_headline.sql" <<<"$out"' \
    "02 names the headline index once the article's are there ($out)"

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
    STATUS=$(curl -s -o "$API_TMP/body" -D "$API_TMP/headers" -w '%{http_code}' \
        -H "X-API-Key: $ADMIN" -H 'Transfer-Encoding: chunked' --data-binary "@$API_TMP/big.json" \
        "http://127.0.0.1:$p$path")
    expect_error 413 "$build chunked ingest over --max-body"
    req POST $p "/api/devices/$HIDDEN/readings" "$AUDITOR" \
        "{\"readings\":[{\"timestamp\":\"$NOW\",\"temperature\":1,\"humidity\":1,\"battery\":1,\"rssi\":-1}]}"
    expect_error 403 "$build ingest into someone else's device"

    # ---- ingest: the new reading is served at once (the cache was invalidated)
    req GET $p "/api/readings/latest?limit=5" "$AUDITOR" # warm the cache (03 on)
    # milliseconds ending in 7: PostgreSQL prints no trailing zeros, so the text round-trips
    ts=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%S).$((RANDOM % 90 + 10))7Z
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
# ---- Redis unreachable: the cached builds fail open (serve from PostgreSQL, count it)
for build in 03-cache 05-gzip; do
    bin=$(require_bin "apibench-$build")
    "$bin" --port $port --database-url "$APP_URL" --redis-url "redis://127.0.0.1:1/0" \
        --threads 2 >>"$API_TMP/noredis-$build.log" 2>&1 &
    track_pid $!
    wait_http "http://127.0.0.1:$port/healthz" 20 || fail "$build did not start without redis"
    req GET $port "/api/readings/latest?limit=3" "$AUDITOR"
    expect 200 "$build with redis unreachable"
    req GET $port "/api/devices/$VISIBLE" "$AUDITOR"
    expect 200 "$build device with redis unreachable"
    errors=$(metric $port 'apibench_cache_lookups_total{level="l2",result="error"}')
    check '[ "${errors:-0}" -gt 0 ]' "$build counts L2 errors when redis is down (got ${errors:-none})"
    port=$((port + 1))
done

# ---- recovery without a restart: the server reaches PostgreSQL through a small TCP proxy
# (the shared PostgreSQL is never stopped). Proxy down: 503; proxy back: 200 again, for a
# per-request build and for the pool, whose connections died with the proxy.
PG_PORT=$(sed -E 's|.*:([0-9]+)/.*|\1|' <<<"$T_APP_DATABASE_URL")
PROXY_PORT=18398
start_proxy() {
    python3 - "$PROXY_PORT" "$PG_PORT" <<'PY' &
import asyncio, sys
listen, target = int(sys.argv[1]), int(sys.argv[2])
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def handle(cr, cw):
    try:
        sr, sw = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, sw), pipe(sr, cw))
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen, reuse_address=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
PY
    PROXY_PID=$!
    track_pid $PROXY_PID
    wait_port $PROXY_PORT 10 || fail "the TCP proxy did not start"
}
start_proxy
PROXIED_URL=$(sed -E "s|:$PG_PORT/|:$PROXY_PORT/|" <<<"$APP_URL")
for build in 01-baseline 04-pool; do
    bin=$(require_bin "apibench-$build")
    "$bin" --port $port --database-url "$PROXIED_URL" --redis-url "$REDIS_URL" \
        --pool-acquire-timeout-ms 500 --threads 2 >>"$API_TMP/recover-$build.log" 2>&1 &
    track_pid $!
    wait_http "http://127.0.0.1:$port/healthz" 20 || fail "$build did not start behind the proxy"
    req GET $port "/api/devices/$VISIBLE/readings?limit=3" "$AUDITOR"
    expect 200 "$build through the proxy"
    kill "$PROXY_PID"
    wait "$PROXY_PID" 2>/dev/null || true
    req GET $port "/api/devices/$VISIBLE/readings?limit=4" "$AUDITOR"
    expect_error 503 "$build with the proxy down"
    start_proxy
    ok=0
    for _ in 1 2 3 4 5; do # a pool may hand out one dead connection per slot first
        req GET $port "/api/devices/$VISIBLE/readings?limit=5" "$AUDITOR"
        [ "$STATUS" = 200 ] && { ok=1; break; }
        sleep 0.5
    done
    check '[ $ok = 1 ]' "$build serves again once PostgreSQL is reachable (last status $STATUS)"
    port=$((port + 1))
done
note "all endpoints of ${API_BUILDS[*]} passed"
