#!/usr/bin/env bash
# test_redis_url.sh - Redis URLs with a user, a long percent-encoded password and an IPv6
# literal, against a redis-server of this test's own (port 18290 on 127.0.0.1 and ::1)
# whose only user is "ops@x" (an ACL user: the default user is off, so only AUTH user pass
# gets in).
#
#  1. 03-cache (18210) given redis://ops%40x:<password>@[::1]:18290/3 caches in database 3
#     of that Redis, with no L2 errors; `apibench keys --revoke` reaches it by the same URL.
#  2. 03-cache (18211) with a wrong password still answers (fail open), counts L2 errors and
#     logs the refusal without the password.
#  3. A bad URL or rediss:// stops the server with a message that masks the password.
# Database apibench_t_redis_url; ports 18210-18212, 18290.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api_common.sh"

command -v redis-server >/dev/null || fail "redis-server is not installed"
api_setup apibench_t_redis_url # KEY[1..5], APP_URL
SERVER=$(require_bin apibench-03-cache)
CLI=$(require_bin apibench)
REDIS_PORT=18290

# '@', ':', '/', '%' and '?' in the password, and 300 more bytes after them
PASSWORD="p@ss:w/rd%?$(printf 'k%.0s' {1..300})"
ENCODED="p%40ss%3Aw%2Frd%25%3F$(printf 'k%.0s' {1..300})"
URL="redis://ops%40x:$ENCODED@[::1]:$REDIS_PORT/3"

cat >"$API_TMP/redis.conf" <<EOF
port $REDIS_PORT
bind 127.0.0.1 ::1
save ""
appendonly no
dir $API_TMP
user default off
user ops@x on >$PASSWORD ~* &* +@all
EOF
redis-server "$API_TMP/redis.conf" >"$API_TMP/redis.log" 2>&1 &
track_pid $!
wait_port "$REDIS_PORT" 10 ||
    { cat "$API_TMP/redis.log" >&2; fail "redis-server did not start on $REDIS_PORT"; }
rcli() { redis-cli -h ::1 -p "$REDIS_PORT" --user 'ops@x' --pass "$PASSWORD" --no-auth-warning "$@"; }
check '[ "$(rcli ping)" = PONG ]' "the test's redis-server takes ops@x's password over IPv6"
check '[ "$(redis-cli -h ::1 -p "$REDIS_PORT" ping 2>&1)" != PONG ]' "the test's redis-server refuses a client without AUTH"

# start PORT URL - starts 03-cache on PORT with Redis URL URL (its log: $API_TMP/03-cache.log).
start() { REDIS_URL=$2 start_build 03-cache "$1" --quiet --threads 2; }
# get PORT KEY - the status of GET /api/readings/latest with KEY.
get() {
    req GET "$1" "/api/readings/latest?limit=5" "$2"
    printf '%s\n' "$STATUS"
}
L2_ERROR='apibench_cache_lookups_total{level="l2",result="error"}'

# ---------------------------------------------------------------- 1. user, password, IPv6, db
start 18210 "$URL"
for i in 1 2 3; do
    s=$(get 18210 "${KEY[1]}")
    check '[ "$s" = 200 ]' "request $i through the ACL user answers 200, got $s"
done
errors=$(metric 18210 "$L2_ERROR")
check '[ "${errors:-0}" = 0 ]' "no L2 errors with the right user and password ($errors)"
stored=$(rcli -n 3 --scan --pattern 'apibench:cache:*' | wc -l)
check '[ "$stored" -gt 0 ]' "the cache wrote its entries into database 3 ($stored hashes)"
check '[ "$(rcli -n 0 dbsize)" = 0 ]' "and nothing into database 0"
"$CLI" keys --revoke 1 --database-url "$APP_URL" --redis-url "$URL" >"$API_TMP/revoke.out" 2>&1 ||
    fail "apibench keys --revoke cannot use the URL: $(cat "$API_TMP/revoke.out")"
check '[ "$(get 18210 "${KEY[1]}")" = 401 ]' "the revocation reached the server through that Redis"

# ---------------------------------------------------------------- 2. wrong password
start 18211 "redis://ops%40x:wrong-$ENCODED@[::1]:$REDIS_PORT/3"
s=$(get 18211 "${KEY[2]}")
check '[ "$s" = 200 ]' "with a wrong redis password the server still answers (from PostgreSQL), got $s"
errors=$(metric 18211 "$L2_ERROR")
check '[ "${errors:-0}" -gt 0 ]' "and counts L2 errors ($errors)"
check 'grep -q "cannot authenticate to redis at \[::1\]:$REDIS_PORT" "$API_TMP/03-cache.log"' "it logs the refused AUTH: $(cat "$API_TMP/03-cache.log")"
check '! grep -q "kkkkkkkk" "$API_TMP/03-cache.log"' "its log does not show the password"

# ---------------------------------------------------------------- 3. refused URLs
# refused URL|what the message says
while IFS='|' read -r bad why; do
    rc=0
    timeout 10 "$SERVER" --port 18212 --database-url "$APP_URL" --redis-url "$bad" \
        >"$API_TMP/bad.log" 2>&1 || rc=$?
    check '[ "$rc" != 0 ] && [ "$rc" != 124 ]' "the server refuses $bad (status $rc)"
    check 'grep -q "bad redis url .rediss*://ops:\*\*\*@.*$why" "$API_TMP/bad.log"' "its message shows the URL masked and says '$why': $(cat "$API_TMP/bad.log")"
    check '! grep -q hunter2 "$API_TMP/bad.log"' "its message does not show the password"
done <<EOF
redis://ops:hunter2@[::1]:99999/0|port
rediss://ops:hunter2@[::1]:$REDIS_PORT/0|TLS
redis://ops:hunter2@[::1]:$REDIS_PORT/zero|database number
redis://ops:hunt@er2@[::1]:$REDIS_PORT/0|%40
EOF

note "ok"
