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
#     exit status 1 (and the Redis URL's password is not shown).
#  2. Builds without a cache: 01-baseline and 02-indexes (18203, 18204) refuse user 3's key
#     on the very next request after `apibench keys --revoke 3 --no-cache`.
# Database apibench_t_revoke; ports 18201-18204; 18299 stays closed (an unreachable Redis).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
CLI=$(require_bin apibench)
DB=apibench_t_revoke
SEED=13
L1_TTL_MS=5000
DEAD_REDIS=redis://app:hunter2@127.0.0.1:18299/0

seeded_db "$DB" "$SEED"
TMP=$(mktemp -d /tmp/apibench-t-revoke.XXXXXX)
on_exit "rm -rf '$TMP'"

"$CLI" keys --seed "$SEED" >"$TMP/keys" || fail "apibench keys failed"
key_of() { awk -v u="$1" '$1 == u { print $3 }' "$TMP/keys"; }
email_of() { awk -v u="$1" '$1 == u { print $2 }' "$TMP/keys"; }
KEY1=$(key_of 1) KEY2=$(key_of 2) KEY3=$(key_of 3)
[ -n "$KEY1" ] && [ -n "$KEY2" ] && [ -n "$KEY3" ] || fail "apibench keys printed no keys"

# start BUILD PORT [FLAGS...] - starts a server build in the background on the test database.
start() {
    local build=$1 port=$2 bin
    shift 2
    bin=$(require_bin "apibench-$build")
    "$bin" --port "$port" --database-url "$T_APP_DATABASE_URL" --redis-url "$REDIS_URL" \
        --threads 2 --quiet "$@" >"$TMP/$build.log" 2>&1 &
    track_pid $!
    wait_http "http://127.0.0.1:$port/healthz" 30 ||
        { cat "$TMP/$build.log" >&2; fail "$build did not start on port $port"; }
}

# status PORT KEY - GET /api/readings/latest?limit=1 with KEY; prints the status code and
# leaves the body in $TMP/body.
status() {
    curl -s -o "$TMP/body" -w '%{http_code}' --max-time 10 -H "X-API-Key: $2" \
        "http://127.0.0.1:$1/api/readings/latest?limit=1"
}

# revoked_error - true when $TMP/body is the JSON error of a revoked key.
revoked_error() {
    jq -e '.error.status == 401 and .error.message == "api key revoked"' "$TMP/body" >/dev/null
}

# revoke ARGS... - runs apibench keys --revoke ARGS, output in $TMP/revoke.out and .err.
revoke() {
    "$CLI" keys --revoke "$@" >"$TMP/revoke.out" 2>"$TMP/revoke.err"
}

now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- 1. builds with a cache
CACHED_PORTS=(18201 18202)
start 03-cache 18201
start 04-pool 18202 --pool-min 1

for port in "${CACHED_PORTS[@]}"; do
    for key in "$KEY1" "$KEY2"; do
        s=$(status "$port" "$key")
        check '[ "$s" = 200 ]' "port $port accepts a live key, got $s: $(cat "$TMP/body")"
    done
done

# the caller is cached: a revocation the cache is not told about goes unseen
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" \
    -c "UPDATE api_keys SET revoked_at = now() WHERE user_id = 1" >/dev/null
for port in "${CACHED_PORTS[@]}"; do
    s=$(status "$port" "$KEY1")
    check '[ "$s" = 200 ]' "port $port still serves user 1 from its cache, got $s"
done
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" \
    -c "UPDATE api_keys SET revoked_at = NULL WHERE user_id = 1" >/dev/null

# the servers read the database as the app role, with the URL their cache is scoped by
revoke "$(email_of 1)" --database-url "$T_APP_DATABASE_URL" --redis-url "$REDIS_URL" ||
    fail "apibench keys --revoke failed: $(cat "$TMP/revoke.err")"
done_ms=$(now_ms)
check 'grep -q "^user 1: 1 key revoked$" "$TMP/revoke.out"' "revoke reports one key: $(cat "$TMP/revoke.out")"
revoked_at=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT count(*) FROM api_keys WHERE user_id = 1 AND revoked_at IS NOT NULL")
check '[ "$revoked_at" = 1 ]' "user 1's key is marked revoked in the database ($revoked_at)"

for port in "${CACHED_PORTS[@]}"; do
    while :; do # allowed: the L1 TTL and a second of margin
        s=$(status "$port" "$KEY1")
        [ "$s" = 401 ] && break
        [ $(($(now_ms) - done_ms)) -lt $((L1_TTL_MS + 1000)) ] ||
            fail "port $port still answers $s for a revoked key $((L1_TTL_MS + 1000)) ms later"
        sleep 0.1
    done
    check 'revoked_error' "port $port's 401 is the JSON error 'api key revoked': $(cat "$TMP/body")"
    note "port $port refuses the revoked key $(($(now_ms) - done_ms)) ms after the command ended"
done
# past L1's TTL nothing brings the old caller back from L2
sleep $((L1_TTL_MS / 1000 + 1))
for port in "${CACHED_PORTS[@]}"; do
    s=$(status "$port" "$KEY1")
    check '[ "$s" = 401 ] && revoked_error' "port $port still refuses the revoked key after the L1 TTL, got $s"
    s=$(status "$port" "$KEY2")
    check '[ "$s" = 200 ]' "port $port still accepts user 2's key, got $s"
done

revoke 1 --database-url "$T_APP_DATABASE_URL" --redis-url "$REDIS_URL" ||
    fail "revoking again failed: $(cat "$TMP/revoke.err")"
check 'grep -q "^user 1: 0 keys revoked (none was live)$" "$TMP/revoke.out"' "revoking again revokes nothing: $(cat "$TMP/revoke.out")"

rc=0
revoke nobody@example.invalid --database-url "$T_APP_DATABASE_URL" --no-cache || rc=$?
check '[ "$rc" = 1 ] && grep -q "no user" "$TMP/revoke.err"' "an unknown user fails with status 1 ($rc): $(cat "$TMP/revoke.err")"

rc=0
revoke 4 --database-url "$T_APP_DATABASE_URL" --redis-url "$DEAD_REDIS" || rc=$?
check '[ "$rc" = 1 ] && grep -q "run this again" "$TMP/revoke.err"' "an unreachable redis fails with status 1 ($rc): $(cat "$TMP/revoke.err")"
check '! grep -q hunter2 "$TMP/revoke.err" "$TMP/revoke.out"' "the redis password is not shown: $(cat "$TMP/revoke.err")"
check 'grep -q "app:\*\*\*@" "$TMP/revoke.err"' "the redis url is shown masked: $(cat "$TMP/revoke.err")"

# ---------------------------------------------------------------- 2. builds without a cache
start 01-baseline 18203
start 02-indexes 18204
for port in 18203 18204; do
    s=$(status "$port" "$KEY3")
    check '[ "$s" = 200 ]' "port $port accepts user 3's key, got $s"
done
revoke 3 --database-url "$T_APP_DATABASE_URL" --no-cache ||
    fail "apibench keys --revoke --no-cache failed: $(cat "$TMP/revoke.err")"
for port in 18203 18204; do
    s=$(status "$port" "$KEY3")
    check '[ "$s" = 401 ] && revoked_error' "port $port refuses user 3's key at once, got $s: $(cat "$TMP/body")"
    s=$(status "$port" "$KEY2")
    check '[ "$s" = 200 ]' "port $port still accepts user 2's key, got $s"
done

note "ok"
