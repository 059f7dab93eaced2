#!/usr/bin/env bash
# test_key_revoke.sh - `apibench keys --revoke USER` against running servers.
#
#  1. Cached builds: 03-cache and 04-pool (ports 18201, 18202) share the private Redis and
#     one database. Both authenticate user 1 (so the caller is cached in L1 and L2). A
#     revocation written straight into the database is not seen (the cache answers 200:
#     the staleness this command exists to end), and is undone. After
#     `apibench keys --revoke` both answer 401 "api key revoked" (a JSON error) within the
#     L1 TTL plus a margin, and keep doing so; user 2's key still works on both. Revoking
#     again is harmless; an unknown user, or a Redis that cannot be reached, fails with
#     exit status 1, and a Redis URL that cannot work with 2 before anything is revoked
#     (the URL's password is never shown).
#  2. Builds without a cache: 01-baseline and 02-indexes (18203, 18204) refuse user 3's key
#     on the very next request after `apibench keys --revoke 3 --no-cache`.
# Database apibench_t_revoke; ports 18201-18204; 18299 stays closed (an unreachable Redis).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api_common.sh"

api_setup apibench_t_revoke # KEY[1..5], APP_URL: the servers' database URL (cache scope)
CLI=$(require_bin apibench)
L1_TTL_MS=5000
DEAD_REDIS=redis://app:hunter2@127.0.0.1:18299/0
email_of() { "$CLI" keys --seed "$API_SEED" | awk -v u="$1" '$1 == u { print $2 }'; }

# status PORT KEY - GET /api/readings/latest?limit=1 with KEY; prints the status code.
status() {
    req GET "$1" "/api/readings/latest?limit=1" "$2"
    printf '%s\n' "$STATUS"
}

# revoked_error - true when the last body is the JSON error of a revoked key.
revoked_error() {
    jq -e '.error.status == 401 and .error.message == "api key revoked"' "$API_TMP/body" >/dev/null
}

# revoke ARGS... - runs apibench keys --revoke ARGS; output in $API_TMP/revoke.out and .err.
revoke() {
    "$CLI" keys --revoke "$@" >"$API_TMP/revoke.out" 2>"$API_TMP/revoke.err"
}

now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- 1. builds with a cache
CACHED_PORTS=(18201 18202)
start_build 03-cache 18201 --quiet
start_build 04-pool 18202 --quiet --pool-min 1

for port in "${CACHED_PORTS[@]}"; do
    for key in "${KEY[1]}" "${KEY[2]}"; do
        s=$(status "$port" "$key")
        check '[ "$s" = 200 ]' "port $port accepts a live key, got $s: $(body)"
    done
done

# the caller is cached: a revocation the cache is not told about goes unseen
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" \
    -c "UPDATE api_keys SET revoked_at = now() WHERE user_id = 1" >/dev/null
for port in "${CACHED_PORTS[@]}"; do
    s=$(status "$port" "${KEY[1]}")
    check '[ "$s" = 200 ]' "port $port still serves user 1 from its cache, got $s"
done
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" \
    -c "UPDATE api_keys SET revoked_at = NULL WHERE user_id = 1" >/dev/null

# the servers read the database as the app role, with the URL their cache is scoped by
email=$(email_of 1)
start_ms=$(now_ms)
revoke "$email" --database-url "$APP_URL" --redis-url "$REDIS_URL" ||
    fail "apibench keys --revoke failed: $(cat "$API_TMP/revoke.err")"
check 'grep -q "^user 1: 1 key revoked$" "$API_TMP/revoke.out"' "revoke reports one key: $(cat "$API_TMP/revoke.out")"
revoked_at=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT count(*) FROM api_keys WHERE user_id = 1 AND revoked_at IS NOT NULL")
check '[ "$revoked_at" = 1 ]' "user 1's key is marked revoked in the database ($revoked_at)"

for port in "${CACHED_PORTS[@]}"; do
    while :; do # allowed, from the start of the command: the L1 TTL and a second of margin
        s=$(status "$port" "${KEY[1]}")
        [ "$s" = 401 ] && break
        [ $(($(now_ms) - start_ms)) -lt $((L1_TTL_MS + 1000)) ] ||
            fail "port $port still answers $s for a revoked key $((L1_TTL_MS + 1000)) ms after revoking"
        sleep 0.1
    done
    check 'revoked_error' "port $port's 401 is the JSON error 'api key revoked': $(body)"
    note "port $port refuses the revoked key (seen $(($(now_ms) - start_ms)) ms after the command started)"
done
# past L1's TTL nothing brings the old caller back from L2
sleep $((L1_TTL_MS / 1000 + 1))
for port in "${CACHED_PORTS[@]}"; do
    s=$(status "$port" "${KEY[1]}")
    check '[ "$s" = 401 ] && revoked_error' "port $port still refuses the revoked key after the L1 TTL, got $s"
    s=$(status "$port" "${KEY[2]}")
    check '[ "$s" = 200 ]' "port $port still accepts user 2's key, got $s"
done

revoke 1 --database-url "$APP_URL" --redis-url "$REDIS_URL" ||
    fail "revoking again failed: $(cat "$API_TMP/revoke.err")"
check 'grep -q "^user 1: 0 keys revoked (none was live)$" "$API_TMP/revoke.out"' "revoking again revokes nothing: $(cat "$API_TMP/revoke.out")"

rc=0
revoke nobody@example.invalid --database-url "$APP_URL" --no-cache || rc=$?
check '[ "$rc" = 1 ] && grep -q "no user" "$API_TMP/revoke.err"' "an unknown user fails with status 1 ($rc): $(cat "$API_TMP/revoke.err")"

rc=0
revoke 4 --database-url "$APP_URL" --redis-url "$DEAD_REDIS" || rc=$?
check '[ "$rc" = 1 ] && grep -q "run this again" "$API_TMP/revoke.err"' "an unreachable redis fails with status 1 ($rc): $(cat "$API_TMP/revoke.err")"
check '! grep -q hunter2 "$API_TMP/revoke.err" "$API_TMP/revoke.out"' "the redis password is not shown: $(cat "$API_TMP/revoke.err")"
check 'grep -q "app:\*\*\*@" "$API_TMP/revoke.err"' "the redis url is shown masked: $(cat "$API_TMP/revoke.err")"

rc=0
revoke 5 --database-url "$APP_URL" --redis-url "rediss://app:hunter2@127.0.0.1:18299/0" || rc=$?
live=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT count(*) FROM api_keys WHERE user_id = 5 AND revoked_at IS NULL")
check '[ "$rc" = 2 ] && [ "$live" = 1 ]' "a redis url that cannot work is refused (status $rc) before revoking ($live live key)"
check '! grep -q hunter2 "$API_TMP/revoke.err"' "the refused url's password is not shown: $(cat "$API_TMP/revoke.err")"

# ---------------------------------------------------------------- 2. builds without a cache
start_build 01-baseline 18203 --quiet
start_build 02-indexes 18204 --quiet
for port in 18203 18204; do
    s=$(status "$port" "${KEY[3]}")
    check '[ "$s" = 200 ]' "port $port accepts user 3's key, got $s"
done
revoke 3 --database-url "$APP_URL" --no-cache ||
    fail "apibench keys --revoke --no-cache failed: $(cat "$API_TMP/revoke.err")"
for port in 18203 18204; do
    s=$(status "$port" "${KEY[3]}")
    check '[ "$s" = 401 ] && revoked_error' "port $port refuses user 3's key at once, got $s: $(body)"
    s=$(status "$port" "${KEY[2]}")
    check '[ "$s" = 200 ]' "port $port still accepts user 2's key, got $s"
done

note "ok"
