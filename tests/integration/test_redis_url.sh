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

apibench_env
SERVER=$(require_bin apibench-03-cache)
CLI=$(require_bin apibench)
DB=apibench_t_redis_url
SEED=17
REDIS_PORT=18290
command -v redis-server >/dev/null || fail "redis-server is not installed"

TMP=$(mktemp -d /tmp/apibench-t-redis-url.XXXXXX)
on_exit "rm -rf '$TMP'"

# '@', ':', '/', '%' and '?' in the password, and 300 more bytes after them
PASSWORD="p@ss:w/rd%?$(printf 'k%.0s' {1..300})"
ENCODED="p%40ss%3Aw%2Frd%25%3F$(printf 'k%.0s' {1..300})"
URL="redis://ops%40x:$ENCODED@[::1]:$REDIS_PORT/3"

cat >"$TMP/redis.conf" <<EOF
port $REDIS_PORT
bind 127.0.0.1 ::1
save ""
appendonly no
dir $TMP
user default off
user ops@x on >$PASSWORD ~* &* +@all
EOF
redis-server "$TMP/redis.conf" >"$TMP/redis.log" 2>&1 &
track_pid $!
wait_port "$REDIS_PORT" 10 || { cat "$TMP/redis.log" >&2; fail "redis-server did not start on $REDIS_PORT"; }
rcli() { redis-cli -h ::1 -p "$REDIS_PORT" --user 'ops@x' --pass "$PASSWORD" --no-auth-warning "$@"; }
check '[ "$(rcli ping)" = PONG ]' "the test's redis-server takes ops@x's password over IPv6"
check '[ "$(redis-cli -h ::1 -p "$REDIS_PORT" ping 2>&1)" != PONG ]' "the test's redis-server refuses a client without AUTH"

seeded_db "$DB" "$SEED"
"$CLI" keys --seed "$SEED" >"$TMP/keys" || fail "apibench keys failed"
KEY1=$(awk '$1 == 1 { print $3 }' "$TMP/keys") KEY2=$(awk '$1 == 2 { print $3 }' "$TMP/keys")
[ -n "$KEY1" ] && [ -n "$KEY2" ] || fail "apibench keys printed no keys"

# start NAME PORT URL - starts 03-cache in the background with Redis URL URL.
start() {
    "$SERVER" --port "$2" --database-url "$T_APP_DATABASE_URL" --redis-url "$3" --threads 2 \
        --quiet >"$TMP/$1.log" 2>&1 &
    track_pid $!
    wait_http "http://127.0.0.1:$2/healthz" 30 || { cat "$TMP/$1.log" >&2; fail "$1 did not start"; }
}
# get PORT KEY - the status of GET /api/readings/latest with KEY.
get() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "X-API-Key: $2" \
        "http://127.0.0.1:$1/api/readings/latest?limit=5"
}
metric() {
    curl -s --max-time 10 "http://127.0.0.1:$1/metrics" |
        awk -v m="$2" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}
L2_HIT='apibench_cache_lookups_total{level="l2",result="hit"}'
L2_ERROR='apibench_cache_lookups_total{level="l2",result="error"}'

# ---------------------------------------------------------------- 1. user, password, IPv6, db
start good 18210 "$URL"
for i in 1 2 3; do
    s=$(get 18210 "$KEY1")
    check '[ "$s" = 200 ]' "request $i through the ACL user answers 200, got $s"
done
errors=$(metric 18210 "$L2_ERROR")
check '[ "$errors" = 0 ]' "no L2 errors with the right user and password ($errors)"
stored=$(rcli -n 3 --scan --pattern 'apibench:cache:*' | wc -l)
check '[ "$stored" -gt 0 ]' "the cache wrote its entries into database 3 ($stored hashes)"
check '[ "$(rcli -n 0 dbsize)" = 0 ]' "and nothing into database 0"
"$CLI" keys --revoke 1 --database-url "$T_APP_DATABASE_URL" --redis-url "$URL" >"$TMP/revoke.out" 2>&1 ||
    fail "apibench keys --revoke cannot use the URL: $(cat "$TMP/revoke.out")"
check '[ "$(get 18210 "$KEY1")" = 401 ]' "the revocation reached the server through that Redis"

# ---------------------------------------------------------------- 2. wrong password
start wrong 18211 "redis://ops%40x:wrong-$ENCODED@[::1]:$REDIS_PORT/3"
s=$(get 18211 "$KEY2")
check '[ "$s" = 200 ]' "with a wrong redis password the server still answers (from PostgreSQL), got $s"
errors=$(metric 18211 "$L2_ERROR")
check '[ "$errors" -gt 0 ]' "and counts L2 errors ($errors)"
check 'grep -q "cannot authenticate to redis at \[::1\]:$REDIS_PORT" "$TMP/wrong.log"' "it logs the refused AUTH: $(cat "$TMP/wrong.log")"
check '! grep -q "kkkkkkkk" "$TMP/wrong.log"' "its log does not show the password"

# ---------------------------------------------------------------- 3. refused URLs
# refused URL|what the message says
while IFS='|' read -r bad why; do
    rc=0
    timeout 10 "$SERVER" --port 18212 --database-url "$T_APP_DATABASE_URL" --redis-url "$bad" \
        >"$TMP/bad.log" 2>&1 || rc=$?
    check '[ "$rc" != 0 ] && [ "$rc" != 124 ]' "the server refuses $bad (status $rc)"
    check 'grep -q "bad redis url .rediss*://ops:\*\*\*@.*$why" "$TMP/bad.log"' "its message shows the URL masked and says '$why': $(cat "$TMP/bad.log")"
    check '! grep -q hunter2 "$TMP/bad.log"' "its message does not show the password"
done <<EOF
redis://ops:hunter2@[::1]:99999/0|port
rediss://ops:hunter2@[::1]:$REDIS_PORT/0|TLS
redis://ops:hunter2@[::1]:$REDIS_PORT/zero|database number
redis://ops:hunt@er2@[::1]:$REDIS_PORT/0|%40
EOF

note "ok"
