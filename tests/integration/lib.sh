# tests/integration/lib.sh - sourced by every tests/integration/test_*.sh.
# shellcheck shell=bash
#
# Tests do not start services: scripts/test does (scripts/services start). A test calls
# apibench_env, makes its own database with fresh_db, starts what it needs on its own
# ports (registering pids with track_pid so that they die with the test), and uses fail /
# check to report. Sourcing this file sets `set -euo pipefail`.
set -euo pipefail

TESTS_INTEGRATION_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AB_PROG=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
# shellcheck source=../../scripts/lib.sh
. "$TESTS_INTEGRATION_DIR/../../scripts/lib.sh"

# ctest passes both; running a test by hand gets the checkout and its build/ folder.
SOURCE_DIR=${SOURCE_DIR:-$APIBENCH_ROOT}
BUILD_DIR=${BUILD_DIR:-$SOURCE_DIR/build}
PSQL=$(ab_psql)
export SOURCE_DIR BUILD_DIR PSQL

# fail MSG... - prints "FAIL: MSG" and exits 1 (the EXIT trap still cleans up).
fail() {
    printf 'FAIL: %s: %s\n' "$AB_PROG" "$*" >&2
    exit 1
}

# note MSG... - a progress line in the test's output.
note() { printf '%s: %s\n' "$AB_PROG" "$*"; }

# check CONDITION MSG - evaluates CONDITION (a shell command line, as a string) and
# fails the test with MSG (and the condition) unless it succeeds:
#   check '[ "$status" = 200 ]' "GET /healthz answers 200, got $status"
#   check 'grep -q pg_stat_statements <<<"$libs"' "pg_stat_statements is preloaded"
check() {
    [ $# -eq 2 ] || fail "check: expected CONDITION MSG, got $# arguments"
    if eval "$1"; then
        return 0
    fi
    fail "$2 (failed: $1)"
}

# ---------------------------------------------------------------- background processes

AB_TRACKED_PIDS=()
AB_CLEANUP_HOOKS=()

# track_pid PID - kills PID (TERM, then KILL after 5 s) when the test exits.
track_pid() { AB_TRACKED_PIDS+=("$1"); }

# on_exit COMMAND - runs COMMAND (a string, eval'd) when the test exits, last added first.
on_exit() { AB_CLEANUP_HOOKS+=("$1"); }

# kill_tracked - kills the tracked processes now; the EXIT trap calls it too.
kill_tracked() {
    local pid i
    for pid in "${AB_TRACKED_PIDS[@]+"${AB_TRACKED_PIDS[@]}"}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${AB_TRACKED_PIDS[@]+"${AB_TRACKED_PIDS[@]}"}"; do
        for ((i = 0; i < 50; i++)); do
            ab_pid_alive "$pid" || break
            sleep 0.1
        done
        if ab_pid_alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    AB_TRACKED_PIDS=()
}

_ab_on_exit() {
    local rc=$? i
    set +e
    for ((i = ${#AB_CLEANUP_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${AB_CLEANUP_HOOKS[$i]}"
    done
    kill_tracked
    exit "$rc"
}
trap _ab_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- services and databases

# apibench_env - exports DATABASE_URL, APP_DATABASE_URL, WORKER_DATABASE_URL, REDIS_URL,
# SMTP_URL, APIBENCH_STATE and SMTP_SINK_LOG from scripts/services env; fails the test
# if a service is down (start them with scripts/services start, or run scripts/test).
apibench_env() {
    local out
    out=$("$APIBENCH_ROOT/scripts/services" env) || fail "scripts/services env failed"
    eval "$out"
    if ! out=$("$APIBENCH_ROOT/scripts/services" status 2>&1); then
        printf '%s\n' "$out" >&2
        fail "services are not running: run scripts/services start (or scripts/test)"
    fi
}

# db_name_ok NAME - true for a plain lowercase identifier (safe to paste into SQL).
db_name_ok() { [[ "$1" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; }

# admin_psql ARGS... - psql as the owner role against the maintenance database.
admin_psql() {
    "$PSQL" -X -q -v ON_ERROR_STOP=1 "$(ab_url_with_db "$DATABASE_URL" postgres)" "$@"
}

# fresh_db NAME - drops and recreates database NAME (owned by apibench, with
# pg_stat_statements), exports T_DATABASE_URL, T_APP_DATABASE_URL and
# T_WORKER_DATABASE_URL pointing at it, and prints T_DATABASE_URL.
fresh_db() {
    local name=$1
    db_name_ok "$name" || fail "fresh_db: bad database name '$name'"
    [ -n "${DATABASE_URL:-}" ] || apibench_env
    drop_db "$name"
    admin_psql -c "CREATE DATABASE $name OWNER apibench" >/dev/null ||
        fail "fresh_db: cannot create database $name"
    T_DATABASE_URL=$(ab_url_with_db "$DATABASE_URL" "$name")
    T_APP_DATABASE_URL=$(ab_url_with_db "${APP_DATABASE_URL:-$DATABASE_URL}" "$name")
    T_WORKER_DATABASE_URL=$(ab_url_with_db "${WORKER_DATABASE_URL:-$DATABASE_URL}" "$name")
    export T_DATABASE_URL T_APP_DATABASE_URL T_WORKER_DATABASE_URL
    "$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" \
        -c 'SET client_min_messages = warning' \
        -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' >/dev/null ||
        fail "fresh_db: cannot create extension pg_stat_statements in $name"
    # The cache builds key Redis entries by database URL: entries left by an earlier
    # database of the same name would answer for this new one. Drop them all (tests run
    # one at a time; a cache may always be emptied).
    if [ -n "${REDIS_URL:-}" ]; then
        redis-cli -u "$REDIS_URL" --scan --pattern 'apibench:cache:*' 2>/dev/null |
            xargs -r redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
    fi
    printf '%s\n' "$T_DATABASE_URL"
}

# seeded_db NAME SEED - fresh_db NAME, dropped again when the test exits, seeded at scale 1
# with SEED and given every index the builds rely on (sql/indexes_article.sql and
# sql/index_headline.sql). Sets what fresh_db sets.
seeded_db() {
    local name=$1 seed=$2
    fresh_db "$name" >/dev/null
    on_exit "drop_db $name"
    note "seeding $name (scale 1)"
    "$BUILD_DIR/apibench" seed --scale 1 --seed "$seed" --database-url "$T_DATABASE_URL" \
        --quiet >/dev/null || fail "seeding $name failed"
    "$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -f "$SOURCE_DIR/sql/indexes_article.sql" \
        -f "$SOURCE_DIR/sql/index_headline.sql" >/dev/null || fail "cannot create the indexes"
}

# drop_db NAME - drops database NAME if it exists (disconnecting its sessions).
drop_db() {
    local name=$1
    db_name_ok "$name" || fail "drop_db: bad database name '$name'"
    [ -n "${DATABASE_URL:-}" ] || apibench_env
    admin_psql -c 'SET client_min_messages = warning' \
        -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null ||
        fail "drop_db: cannot drop database $name"
}

# wait_http URL TIMEOUT_S - waits until URL answers any HTTP status; returns 1 on timeout.
wait_http() {
    local url=$1 timeout=$2 i
    for ((i = 0; i < timeout * 10; i++)); do
        if curl -s -o /dev/null --max-time 2 "$url"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# wait_port PORT TIMEOUT_S - waits until 127.0.0.1:PORT accepts TCP; returns 1 on timeout.
wait_port() { ab_wait_tcp 127.0.0.1 "$1" "$2"; }

# require_bin NAME - fails unless $BUILD_DIR/NAME exists and is executable; prints its path.
require_bin() {
    local path=$BUILD_DIR/$1
    [ -x "$path" ] || fail "$path not built (cmake --build $BUILD_DIR)"
    printf '%s\n' "$path"
}

# sink_count [--job-id ID] - prints the SMTP sink's counts for $SMTP_SINK_LOG:
# "messages=N jobs=N duplicate_jobs=N duplicate_messages=N".
sink_count() {
    [ -n "${SMTP_SINK_LOG:-}" ] || fail "sink_count: SMTP_SINK_LOG is not set (external SMTP?)"
    /usr/bin/python3 "$APIBENCH_ROOT/scripts/smtp_sink.py" count --log "$SMTP_SINK_LOG" "$@"
}
