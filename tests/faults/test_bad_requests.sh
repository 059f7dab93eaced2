#!/usr/bin/env bash
# test_bad_requests.sh - the bad-input catalogue (tests/data/bad_requests.tsv) against every
# build, 01-baseline to 06-async, on a seeded scale-1 database: each case must get its
# expected 4xx with the API's JSON error (tests/faults/bad_requests.py checks one server),
# none a 5xx, a hang (10 s per request) or a dropped connection, and each server must still
# be running and answering a good request after the whole list. Prints the counts per build.
# Database apibench_t_badreq, ports 18660-18666.
. "$(dirname "$0")/../integration/lib.sh"

BUILDS=(01-baseline 02-indexes 03-cache 04-pool 05-gzip 06-async)
SEED=7
CASES=$SOURCE_DIR/tests/data/bad_requests.tsv
DRIVER=$SOURCE_DIR/tests/faults/bad_requests.py
TMP=$(mktemp -d /tmp/apibench-badreq.XXXXXX)
on_exit "rm -rf '$TMP'"

apibench_env
seeded_db apibench_t_badreq "$SEED"
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -f "$SOURCE_DIR/sql/async.sql" -c ANALYZE \
    >/dev/null || fail "cannot apply sql/async.sql"
sql() { "$PSQL" -X -At -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -c "$1"; }

# The auditor (user 5) sees some sites; HIDDEN and HIDDEN_SITE are outside them.
declare -A KEYS
while read -r id _ key; do KEYS[$id]=$key; done < <("$BUILD_DIR/apibench" keys --seed "$SEED")
HIDDEN=$(sql "SELECT min(id) FROM devices WHERE site_id NOT IN
    (SELECT site_id FROM user_sites WHERE user_id = 5)")
HIDDEN_SITE=$(sql "SELECT min(id) FROM sites WHERE id NOT IN
    (SELECT site_id FROM user_sites WHERE user_id = 5)")
VISIBLE=$(sql "SELECT min(id) FROM devices WHERE status = 'active' AND site_id IN
    (SELECT site_id FROM user_sites WHERE user_id = 5)")
[ -n "$HIDDEN" ] && [ -n "$HIDDEN_SITE" ] && [ -n "$VISIBLE" ] && [ -n "${KEYS[1]:-}" ] &&
    [ -n "${KEYS[5]:-}" ] || fail "seeded data lacks the users, devices or sites the cases need"

# Cached builds key Redis by database URL: a name of this run's own keeps them apart from
# other runs; 06-async gets a stream of its own.
APP_URL="$T_APP_DATABASE_URL?fallback_application_name=t$$x$RANDOM"
export APIBENCH_STREAM="t:badreq:$$"
on_exit "redis-cli -u '$REDIS_URL' DEL '$APIBENCH_STREAM' '$APIBENCH_STREAM:dead' '$APIBENCH_STREAM:stats' >/dev/null 2>&1"

start_server() { # NAME PORT - sets PID
    local bin
    bin=$(require_bin "apibench-$1")
    "$bin" --port "$2" --database-url "$APP_URL" --redis-url "$REDIS_URL" --smtp-url "$SMTP_URL" \
        --threads 4 --quiet >>"$TMP/$1.log" 2>&1 &
    PID=$!
    track_pid "$PID"
    wait_http "http://127.0.0.1:$2/healthz" 20 || { cat "$TMP/$1.log"; fail "apibench-$1 did not start"; }
}

# Another user's job: one report of the admin, made through 01 (answered inline).
start_server 01-baseline 18666
curl -s -o "$TMP/job.json" --max-time 60 -H "X-API-Key: ${KEYS[1]}" -H 'Content-Type: application/json' \
    --data "{\"kind\":\"device\",\"id\":$VISIBLE,\"hours\":1,\"email\":\"ops@example.com\"}" \
    http://127.0.0.1:18666/api/reports
ADMIN_JOB=$(jq -r '.job.id // empty' "$TMP/job.json")
[[ "$ADMIN_JOB" =~ ^[0-9]+$ ]] || fail "no job id in the admin's report reply: $(cat "$TMP/job.json")"
kill_tracked

failed=0
port=18660
summary=()
for build in "${BUILDS[@]}"; do
    start_server "$build" "$port"
    rc=0
    timeout 600 /usr/bin/python3 "$DRIVER" --port "$port" --cases "$CASES" --label "$build" \
        --timeout 10 --var "ADMIN=${KEYS[1]}" --var "AUDITOR=${KEYS[5]}" --var "VISIBLE=$VISIBLE" \
        --var "HIDDEN=$HIDDEN" --var "HIDDEN_SITE=$HIDDEN_SITE" --var "ADMIN_JOB=$ADMIN_JOB" \
        >"$TMP/$build.out" 2>&1 || rc=$?
    cat "$TMP/$build.out"
    summary+=("$(tail -n 1 "$TMP/$build.out")")
    if ! ab_pid_alive "$PID"; then
        note "$build: the server died during the list; its last log lines:"
        tail -n 20 "$TMP/$build.log"
        failed=1
    elif [ "$rc" -ne 0 ]; then
        failed=1
    fi
    kill_tracked
    port=$((port + 1))
done

note "per build:"
printf '  %s\n' "${summary[@]}"
[ "$failed" -eq 0 ] || fail "some build answered a bad request wrongly or did not survive the list"
note "every build answered all $(grep -c '^[a-z]' "$CASES") cases as expected and stayed up"
