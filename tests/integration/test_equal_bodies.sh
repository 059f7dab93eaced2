#!/usr/bin/env bash
# test_equal_bodies.sh - builds 01-05 answer the same request sequence with byte-identical
# bodies (after un-gzipping) on one seeded scale-1 database: three users (all sites, half,
# a tenth), the headline endpoint's pages 1-3 through next_cursor, device readings and
# details, and the 400/401/403/404 errors. The sequence runs twice, so that 03-05 are
# compared once computing (cold cache) and once from their caches. Each cached build gets
# its own cache scope, so that it computes its own bodies rather than reusing another's.
# Only the first day is requested: the optimised set (02 on) serves nothing older, which
# is the one documented difference (docs/API.md).
# Database apibench_t_api_equal, ports 18341-18345.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api_common.sh"

api_setup apibench_t_api_equal
BASE_URL=$APP_URL
PORTS=()
port=18341
for build in "${API_BUILDS[@]}"; do
    APP_URL="${BASE_URL}_$build"
    start_build "$build" "$port"
    PORTS+=("$port")
    port=$((port + 1))
done

# Devices to ask about: for each of users 1, 3 and 5, one they can see and one they cannot.
mapfile -t DEVICES < <("$PSQL" -X -At "$T_DATABASE_URL" -c "
    SELECT min(d.id) FROM devices d WHERE d.status = 'active' AND d.site_id IN
        (SELECT site_id FROM user_sites WHERE user_id = 5)
    UNION SELECT min(d.id) FROM devices d WHERE d.site_id NOT IN
        (SELECT site_id FROM user_sites WHERE user_id = 5)
    UNION SELECT min(d.id) FROM devices d WHERE d.site_id NOT IN
        (SELECT site_id FROM user_sites WHERE user_id = 3)
    UNION SELECT max(device_id) FROM readings")
[ "${#DEVICES[@]}" -ge 3 ] || fail "could not pick devices from the seeded data"

# fetch_all N PATH KEY - GET PATH from every build; body of build i in $API_TMP/r<N>.<i>.
# Compares them, and echoes build 01's body for chaining (cursors).
compared=0
fetch_all() {
    local n=$1 path=$2 key=$3 i status0="" st
    for i in "${!PORTS[@]}"; do
        st=$(curl -s --compressed -o "$API_TMP/r$n.$i" -D "$API_TMP/h$n.$i" -w '%{http_code}' \
            --max-time 60 -H "X-API-Key: $key" -H 'Accept-Encoding: gzip' \
            "http://127.0.0.1:${PORTS[$i]}$path") || st=000
        [ -z "$status0" ] && status0=$st
        [ "$st" = "$status0" ] || fail "$path: ${API_BUILDS[$i]} answered $st, ${API_BUILDS[0]} $status0"
        if ! cmp -s "$API_TMP/r$n.0" "$API_TMP/r$n.$i"; then
            diff <(jq . "$API_TMP/r$n.0") <(jq . "$API_TMP/r$n.$i") | head -20 >&2 || true
            fail "$path (key ${key:0:8}): ${API_BUILDS[$i]}'s body differs from ${API_BUILDS[0]}'s"
        fi
    done
    compared=$((compared + 1))
    cat "$API_TMP/r$n.0"
}

run_sequence() {
    local n=0 u key cursor page body path d
    for u in 1 3 5; do
        key=${KEY[$u]}
        cursor=""
        for page in 1 2 3; do
            path="/api/readings/latest${cursor:+?cursor=$cursor}"
            body=$(fetch_all $((n++)) "$path" "$key")
            check '[ "$(jq ".readings | length" <<<"$body")" -gt 0 ]' "user $u page $page is not empty"
            cursor=$(jq -r '.next_cursor // empty' <<<"$body")
            [ -n "$cursor" ] || break
        done
        fetch_all $((n++)) "/api/readings/latest?limit=7" "$key" >/dev/null
        for d in "${DEVICES[@]}" 99999999; do
            fetch_all $((n++)) "/api/devices/$d" "$key" >/dev/null
            fetch_all $((n++)) "/api/devices/$d/readings?limit=20" "$key" >/dev/null
            fetch_all $((n++)) "/api/devices/$d/readings?hours=6&limit=500" "$key" >/dev/null
        done
        fetch_all $((n++)) "/api/devices/abc" "$key" >/dev/null
        fetch_all $((n++)) "/api/readings/latest?cursor=bogus" "$key" >/dev/null
    done
    fetch_all $((n++)) "/api/readings/latest" "ak_wrong" >/dev/null
}

run_sequence
note "cold: $compared requests gave identical bodies on ${API_BUILDS[*]}"
run_sequence
note "warm: $compared requests in all gave identical bodies"

# 05 really compressed the large bodies it was compared on (Accept-Encoding: gzip).
curl -s -o /dev/null -D "$API_TMP/gz" -H "X-API-Key: ${KEY[1]}" -H 'Accept-Encoding: gzip' \
    "http://127.0.0.1:${PORTS[4]}/api/readings/latest"
check 'grep -qi "^Content-Encoding: gzip" "$API_TMP/gz"' "05-gzip sends gzip when asked"
curl -s -o /dev/null -D "$API_TMP/id" -H "X-API-Key: ${KEY[1]}" -H 'Accept-Encoding: gzip' \
    "http://127.0.0.1:${PORTS[3]}/api/readings/latest"
check '! grep -qi "^Content-Encoding:" "$API_TMP/id"' "04-pool does not compress"
