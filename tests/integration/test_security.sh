#!/usr/bin/env bash
# test_security.sh - the live half of the security checks (scripts/check_security is the
# static half):
#   - API keys are stored hashed: no seeded key appears in api_keys, and each one's SHA-256
#     is there;
#   - a server started without --bind listens on loopback only;
#   - no password leaks: a server whose DATABASE_URL and SMTP URL hold passwords (one
#     reachable, one refusing mail, and one with PostgreSQL unreachable), apibench run /
#     verify / capacity against a --target holding a password, and run.info / steps.log /
#     summary.json written by the reproduction's own helpers; every output file, log, HTTP
#     body and job row is searched for the passwords, which must show as ***.
# Database apibench_t_security, ports 18670-18674.
. "$(dirname "$0")/lib.sh"

SEED=3
PW_DB="dbpw-S3cr3t-1"
PW_SMTP="smtppw-S3cr3t-2"
PW_TARGET="targetpw-S3cr3t-3"
TMP=$(mktemp -d /tmp/apibench-security.XXXXXX)
on_exit "rm -rf '$TMP'"

apibench_env
seeded_db apibench_t_security "$SEED"
sql() { "$PSQL" -X -At -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -c "$1"; }

# ---- API keys are stored as SHA-256 digests, never as the key itself
n=0
while read -r id _ key; do
    check '[ "$(sql "SELECT count(*) FROM api_keys WHERE user_id = $id AND key_hash = sha256(convert_to('"'"'$key'"'"', '"'"'UTF8'"'"'))")" = 1 ]' \
        "user $id's key is stored as its SHA-256"
    n=$((n + 1))
    key_plain=$key
done < <("$BUILD_DIR/apibench" keys --seed "$SEED")
check '[ "$n" -ge 5 ]' "apibench keys printed the seeded users' keys ($n)"
"$PSQL" -X -At "$T_DATABASE_URL" -c "COPY api_keys TO STDOUT" >"$TMP/api_keys.txt"
"$PSQL" -X -At "$T_DATABASE_URL" -c "COPY users TO STDOUT" >>"$TMP/api_keys.txt"
check '! grep -qF "$key_plain" "$TMP/api_keys.txt"' "no plaintext key in api_keys or users"

# ---- a server started without --bind listens on 127.0.0.1 only
PW_APP_URL=$(sed -E "s#^(postgresql://[^@/:]+)@#\1:$PW_DB@#" <<<"$T_APP_DATABASE_URL")
check '[[ "$PW_APP_URL" == *":$PW_DB@"* ]]' "the test's database URL holds the password ($PW_APP_URL)"
bin=$(require_bin apibench-01-baseline)
# PostgreSQL trusts loopback here, so the password is sent nowhere but must show nowhere.
"$bin" --port 18670 --database-url "$PW_APP_URL" --redis-url "$REDIS_URL" \
    --smtp-url "smtp://mailer:$PW_SMTP@127.0.0.1:1" --threads 2 >"$TMP/server.log" 2>&1 &
track_pid $!
wait_http http://127.0.0.1:18670/healthz 20 || { cat "$TMP/server.log"; fail "01 did not start"; }
listen=$(ss -Hltn "sport = :18670" | awk '{ print $4 }' | sort -u)
check '[ "$listen" = "127.0.0.1:18670" ]' "the server listens on loopback only (got: $listen)"

# ---- the same server with PostgreSQL unreachable (its errors name the database)
"$bin" --port 18671 --database-url "postgresql://apibench_app:$PW_DB@127.0.0.1:1/nowhere" \
    --redis-url "$REDIS_URL" --threads 2 >"$TMP/server-down.log" 2>&1 &
track_pid $!
wait_http http://127.0.0.1:18671/healthz 20 || { cat "$TMP/server-down.log"; fail "01 (no db) did not start"; }

# ---- the worker with both passwords, once with PostgreSQL unreachable
WORKER_PW_URL=$(sed -E "s#^(postgresql://[^@/:]+)@#\1:$PW_DB@#" <<<"$T_WORKER_DATABASE_URL")
wbin=$(require_bin apibench-worker)
for url in "$WORKER_PW_URL" "postgresql://apibench_worker:$PW_DB@127.0.0.1:1/nowhere"; do
    timeout 5 "$wbin" --database-url "$url" --redis-url "$REDIS_URL" \
        --smtp-url "smtp://mailer:$PW_SMTP@127.0.0.1:1" --stream "t:security:$$" \
        --block-ms 100 --exit-when-idle >>"$TMP/worker.log" 2>&1 || true
done
redis-cli -u "$REDIS_URL" DEL "t:security:$$" "t:security:$$:dead" "t:security:$$:stats" >/dev/null 2>&1 || true
check 'grep -q "cannot connect to postgres" "$TMP/worker.log"' "the worker logged its database error"

KEY=$("$BUILD_DIR/apibench" keys --seed "$SEED" | awk '$1 == 1 { print $3 }')
DEVICE=$(sql "SELECT min(id) FROM devices WHERE status = 'active'")
get() { curl -s --max-time 30 -H "X-API-Key: $KEY" "$@" >>"$TMP/bodies.txt" 2>&1 || true; echo >>"$TMP/bodies.txt"; }
get "http://127.0.0.1:18670/api/readings/latest?limit=2"
get "http://127.0.0.1:18671/api/readings/latest?limit=2"
get http://127.0.0.1:18670/metrics
get -H 'Content-Type: application/json' \
    --data "{\"kind\":\"device\",\"id\":$DEVICE,\"hours\":1,\"email\":\"ops@example.com\"}" \
    http://127.0.0.1:18670/api/reports
check 'grep -q "cannot send e-mail via smtp://mailer:\*\*\*@127.0.0.1:1" "$TMP/bodies.txt"' \
    "the mail error names the SMTP URL with its password masked ($(tail -c 300 "$TMP/bodies.txt"))"
sql "SELECT coalesce(error, '') FROM reports" >"$TMP/job_errors.txt"

# ---- the harness against a --target holding a password
TARGET="http://loadgen:$PW_TARGET@127.0.0.1:18670"
"$BUILD_DIR/apibench" run --target "$TARGET" --path /healthz --rate 20 --warmup 0 \
    --duration 1 --out "$TMP/out/run" >"$TMP/run.stdout" 2>"$TMP/run.stderr" ||
    { cat "$TMP/run.stderr"; fail "apibench run failed"; }
check '[ -f "$TMP/out/run.json" ]' "apibench run wrote its results"
check 'jq -e ".config.target == \"http://loadgen:***@127.0.0.1:18670\"" "$TMP/out/run.json" >/dev/null' \
    "the run JSON names the target with its password masked"
"$BUILD_DIR/apibench" run --target "http://loadgen:$PW_TARGET@127.0.0.1:1" --path /healthz \
    --rate 5 --duration 1 --out "$TMP/out/down" >>"$TMP/run.stdout" 2>>"$TMP/run.stderr" || true
"$BUILD_DIR/apibench" verify --target "$TARGET" --dataset-seed "$SEED" --quiet \
    >"$TMP/verify.out" 2>&1 || true
"$BUILD_DIR/apibench" capacity --target "$TARGET" --path /healthz --start 20 --out "$TMP/cap" \
    --probe-warmup 0s --min-requests 20 --max-duration 2s --max-probes 1 >"$TMP/capacity.out" 2>&1 || true

# ---- run.info, steps.log and summary.json as the reproduction writes them
(
    RUN=$TMP/repro
    mkdir -p "$RUN"
    # shellcheck source=../../scripts/lib/reproduce.sh
    . "$SOURCE_DIR/scripts/lib/reproduce.sh"
    rp_info target "$TARGET"
    rp_info command "scripts/reproduce --target $TARGET --database-url $PW_APP_URL"
    rp_log "measuring $TARGET"
) >"$TMP/repro.out" 2>&1 || { cat "$TMP/repro.out"; fail "rp_info/rp_log failed"; }
check 'grep -qF "target=http://loadgen:***@127.0.0.1:18670" "$TMP/repro/run.info"' \
    "run.info keeps the target with its password masked"
"$BUILD_DIR/apibench" report --no-plots "$TMP/repro" >"$TMP/report.out" 2>&1 ||
    { cat "$TMP/report.out"; fail "apibench report failed"; }
check '[ -f "$TMP/repro/summary.json" ]' "apibench report wrote summary.json"

# ---- the masking rule of the scripts is the one of core/src/urlmask.c (same cases as
# tests/unit/core/test_urlmask.c)
. "$SOURCE_DIR/scripts/lib.sh"
check '[ "$(ab_mask_passwords "smtp://u:a@b@mail:25")" = "smtp://u:***@mail:25" ]' "shell: '@' in a password"
check '[ "$(ab_mask_passwords "postgresql://app@h/db?password=S3&ssl=1")" = "postgresql://app@h/db?password=***&ssl=1" ]' \
    "shell: password= parameter"
check '[ "$(ab_mask_passwords "http://127.0.0.1:1/api?user=a:b@c")" = "http://127.0.0.1:1/api?user=a:b@c" ]' \
    "shell: no password, unchanged"

# ---- no password anywhere
kill_tracked
for pw in "$PW_DB" "$PW_SMTP" "$PW_TARGET"; do
    leaks=$(grep -rlF -- "$pw" "$TMP" | grep -v '/api_keys.txt$' || true)
    check '[ -z "$leaks" ]' "password $pw appears in: $leaks"
done
count=$(find "$TMP" -type f | wc -l)
note "API keys hashed, loopback only, and no password in $count output files, logs, bodies and job rows"
