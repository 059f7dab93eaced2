#!/usr/bin/env bash
# test_classroom.sh - several students on one PostgreSQL and one Redis (docs/WORKSHOP.md):
#
#  1. `apibench lab setup --student NAME` clones the seeded template into apibench_NAME
#     (CREATE DATABASE ... TEMPLATE), says how long it took, and prints the student's
#     environment (database URLs, APIBENCH_REDIS_PREFIX=NAME:, APIBENCH_PORT_BASE); the
#     clone holds the template's rows; a second setup keeps it, --force replaces it.
#  2. A template with another session open is refused with a clear message; bad names are
#     refused before any SQL.
#  3. Two 03-cache servers on the same database with prefixes tclsa: and tclsb: do not
#     see each other's cache entries: every key is under its own prefix, and the second
#     server misses L2 where the first has stored the entry.
#  4. `apibench lab board` renders the fixture result sets (tests/data/lab_results) into
#     board.md, board.png and board.svg.
# Databases apibench_t_classroom (template), apibench_tclsa, apibench_tclsb; ports 26401-26402.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api_common.sh"

api_setup apibench_t_classroom # KEY[1..5], APP_URL, T_DATABASE_URL (the template)
CLI=$(require_bin apibench)
TEMPLATE_URL=$T_DATABASE_URL
on_exit "drop_db apibench_tclsa; drop_db apibench_tclsb"
drop_db apibench_tclsa
drop_db apibench_tclsb
on_exit "redis-cli -u '$REDIS_URL' --scan --pattern 'tcls?:*' | xargs -r redis-cli -u '$REDIS_URL' DEL >/dev/null 2>&1"
count() { "$PSQL" -X -At "$1" -c "SELECT count(*) FROM readings"; }

# ---------------------------------------------------------------- 1. lab setup clones
DATABASE_URL=$TEMPLATE_URL APIBENCH_ROSTER='' "$CLI" lab setup --student tclsa \
    >"$API_TMP/env.a" 2>"$API_TMP/setup.a" || fail "lab setup failed: $(cat "$API_TMP/setup.a")"
cat "$API_TMP/setup.a"
check 'grep -Eq "^tclsa: database apibench_tclsa cloned from apibench_t_classroom in [0-9.]+ s$" "$API_TMP/setup.a"' \
    "lab setup says what it cloned and how long it took"
env_a=$(cat "$API_TMP/env.a")
check 'grep -q "^export APIBENCH_REDIS_PREFIX='"'"'tclsa:'"'"'$" <<<"$env_a"' "the student's Redis prefix is tclsa: ($env_a)"
check 'grep -Eq "^export APIBENCH_PORT_BASE='"'"'2[0-9]{2}00'"'"'$" <<<"$env_a"' "the student gets a block of 100 ports"
check 'grep -q "^export DATABASE_URL=.*/apibench_tclsa" <<<"$env_a"' "DATABASE_URL names apibench_tclsa"
A_URL=$( (eval "$env_a"; printf '%s' "$DATABASE_URL") )
check '[ "$(count "$A_URL")" = "$(count "$TEMPLATE_URL")" ]' "the clone holds the template's readings"
DATABASE_URL=$TEMPLATE_URL "$CLI" lab setup --student tclsa >/dev/null 2>"$API_TMP/setup.a2" ||
    fail "a second lab setup failed: $(cat "$API_TMP/setup.a2")"
check 'grep -q "already exists: kept" "$API_TMP/setup.a2"' "a second setup keeps the student's database"
"$PSQL" -X -q "$A_URL" -c "DELETE FROM readings WHERE id % 2 = 0" >/dev/null
"$CLI" seed --template apibench_t_classroom --database-url "$A_URL" --force >"$API_TMP/seed.a" ||
    fail "seed --template --force failed"
check 'grep -Eq "^cloned template apibench_t_classroom into apibench_tclsa in [0-9.]+ s$" "$API_TMP/seed.a"' "seed --template reports its time: $(cat "$API_TMP/seed.a")"
check '[ "$(count "$A_URL")" = "$(count "$TEMPLATE_URL")" ]' "--force replaced the changed clone"

# the instructor's way: a roster, every student at once; the roster gives the port blocks
printf '# test room\ntclsa\ntclsb  # second row\n' >"$API_TMP/roster"
DATABASE_URL=$TEMPLATE_URL "$CLI" lab setup --all --roster "$API_TMP/roster" \
    >"$API_TMP/all.out" 2>"$API_TMP/all.err" || fail "lab setup --all failed: $(cat "$API_TMP/all.err")"
check '[ ! -s "$API_TMP/all.out" ]' "--all prints no environment"
check 'grep -q "^tclsa: database apibench_tclsa already exists: kept" "$API_TMP/all.err"' "--all keeps tclsa's database"
check 'grep -Eq "^tclsb: database apibench_tclsb cloned from apibench_t_classroom in [0-9.]+ s$" "$API_TMP/all.err"' "--all clones tclsb's: $(cat "$API_TMP/all.err")"
check 'grep -q "^tclsb: Redis prefix tclsb:, ports 20100-20199 (the roster.s slot)" "$API_TMP/all.err"' "the roster's second student gets ports 20100-20199"
env_b=$(DATABASE_URL=$TEMPLATE_URL "$CLI" lab setup --student tclsb --roster "$API_TMP/roster" --no-clone 2>/dev/null)
check 'grep -q "^export APIBENCH_PORT_BASE='"'"'20100'"'"'$" <<<"$env_b"' "--no-clone prints the same block: $env_b"
drop_db apibench_tclsb

# ---------------------------------------------------------------- 2. refusals
"$PSQL" -X -q "$TEMPLATE_URL" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
track_pid $!
for _ in $(seq 50); do
    [ "$("$PSQL" -X -At "$TEMPLATE_URL" -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")" -ge 1 ] && break
    sleep 0.1
done
B_URL=$(ab_url_with_db "$TEMPLATE_URL" apibench_tclsb)
rc=0
"$CLI" seed --template apibench_t_classroom --database-url "$B_URL" 2>"$API_TMP/busy.err" || rc=$?
check '[ "$rc" = 1 ]' "cloning a busy template fails (exit $rc)"
check 'grep -q "cannot clone apibench_t_classroom: it is in use by 1 other session(s)" "$API_TMP/busy.err"' \
    "and says who holds it: $(cat "$API_TMP/busy.err")"
kill_tracked
rc=0
"$CLI" seed --template 'x"; DROP DATABASE apibench_tclsa; --' --database-url "$B_URL" 2>"$API_TMP/bad.err" || rc=$?
check '[ "$rc" = 1 ] && grep -q "bad --template" "$API_TMP/bad.err"' "a template name that is not a plain identifier is refused"
rc=0
"$CLI" lab setup --student 'Bad-Name' --database-url "$TEMPLATE_URL" 2>"$API_TMP/bad.err" || rc=$?
check '[ "$rc" = 2 ] && grep -q "bad student name" "$API_TMP/bad.err"' "a student name outside [a-z0-9_] is refused"
check '[ -n "$(count "$A_URL")" ]' "and apibench_tclsa is still there"

# ---------------------------------------------------------------- 3. Redis prefixes
start_build 03-cache 26401 --redis-prefix tclsa:
APIBENCH_REDIS_PREFIX=tclsb: start_build 03-cache 26402
req GET 26401 "/api/devices/1" "${KEY[1]}"
check '[ "$STATUS" = 200 ]' "student a's server answers ($STATUS)"
a_keys=$(redis-cli -u "$REDIS_URL" --scan --pattern 'tclsa:apibench:cache:*' | wc -l)
check '[ "$a_keys" -gt 0 ]' "its cache entries are under tclsa: ($a_keys hashes)"
check '[ "$(redis-cli -u "$REDIS_URL" --scan --pattern "tclsb:*" | wc -l)" = 0 ]' "nothing is under tclsb: yet"
req GET 26402 "/api/devices/1" "${KEY[1]}"
check '[ "$STATUS" = 200 ]' "student b's server answers ($STATUS)"
L2='apibench_cache_lookups_total{level="l2",result='
check '[ "$(metric 26402 "${L2}\"hit\"}")" = 0 ]' "b's server found none of a's entries in L2"
check '[ "$(metric 26402 "${L2}\"miss\"}")" -ge 1 ]' "b's server missed L2 and read PostgreSQL"
check '[ "$(redis-cli -u "$REDIS_URL" --scan --pattern "tclsb:apibench:cache:*" | wc -l)" -gt 0 ]' "b's entries are under tclsb:"
req GET 26401 "/api/devices/1" "${KEY[1]}"
check '[ "$(metric 26401 "apibench_cache_lookups_total{level=\"l1\",result=\"hit\"}")" -ge 1 ]' "a's own entry still serves a"

# ---------------------------------------------------------------- 4. the board
"$CLI" lab board "$SOURCE_DIR/tests/data/lab_results" --out "$API_TMP/board" >"$API_TMP/board.out" 2>&1 ||
    fail "lab board failed: $(cat "$API_TMP/board.out")"
check 'grep -q "3 student(s), 5 lab(s), 0 file(s) skipped" "$API_TMP/board.out"' "lab board read the three fixture sets: $(cat "$API_TMP/board.out")"
check '[ "$(grep -o "^| [0-9] | [a-z]*" "$API_TMP/board/board.md" | tr -d "| 0-9" | tr "\n" " ")" = "reference partial scaffold " ]' \
    "the board ranks reference, partial, scaffold: $(cat "$API_TMP/board/board.md")"
check '[ -s "$API_TMP/board/board.png" ] && [ -s "$API_TMP/board/board.svg" ]' "the chart is drawn as PNG and SVG"
note "ok"
