# tests/faults/restart_common.sh - helpers of the restart fault tests (test_postgres_restart,
# test_redis_restart, test_worker_killed): their own private services, in a temporary
# state folder on their own ports, so that the shared instance other tests use is never
# touched; the builds under test; the figures of restart_load.py; report jobs. Sourced
# after ../integration/lib.sh (and async_common.sh where jobs are involved).
# shellcheck shell=bash

# private_services PG_PORT REDIS_PORT SMTP_PORT - starts PostgreSQL, Redis and the SMTP
# sink on those ports with a fresh APIBENCH_STATE, points the environment at them
# (apibench_env), and stops them and removes the folder when the test exits. Later
# `scripts/services stop|start postgres|redis` calls in the test act on these only.
private_services() {
    local state
    state=$(mktemp -d /tmp/apibench-fault-services.XXXXXX)
    # Another server's URLs in the environment would make scripts/services treat the
    # service as external and start nothing: ours are derived from the ports below.
    unset DATABASE_URL APP_DATABASE_URL WORKER_DATABASE_URL REDIS_URL SMTP_URL SMTP_SINK_LOG
    export APIBENCH_STATE=$state APIBENCH_PG_PORT=$1 APIBENCH_REDIS_PORT=$2 APIBENCH_SMTP_PORT=$3
    # Servers first (they hold connections), then the services, then the folder.
    on_exit "kill_tracked; '$SOURCE_DIR/scripts/services' stop >/dev/null 2>&1; rm -rf '$state'"
    note "starting private services in $state (postgres $1, redis $2, smtp $3)"
    # The tests use ports below Linux's ephemeral range (32768-60999), so no client socket
    # takes them; a port still held by an earlier run's closing socket is tried again.
    local attempt
    for attempt in 1 2 3 4 5 6 7 8 9 10 11 12; do
        SMTP_DELAY_MS=0 "$SOURCE_DIR/scripts/services" start >"$state/start.log" 2>&1 && break
        [ "$attempt" -lt 12 ] || { cat "$state/start.log" >&2; fail "cannot start the private services"; }
        note "private services did not start (attempt $attempt): $(grep -m1 -i 'in use\|taken' "$state/start.log" || tail -1 "$state/start.log")"
        sleep 5
    done
    apibench_env
}

# now_ms - wall-clock milliseconds (the load client's log uses the same clock).
now_ms() { date +%s%3N; }

# start_builds FIRST_PORT DATABASE_URL BUILD... [-- ARGS...] - starts apibench-BUILD for
# each BUILD on consecutive ports from FIRST_PORT (4 threads, quiet, the private Redis and
# SMTP, plus ARGS) and waits until each answers. Fills PID_OF[BUILD], PORT_OF[BUILD] and
# TARGETS (restart_load.py's --target arguments). Logs go to $TMP/BUILD.log.
declare -A PID_OF PORT_OF
TARGETS=()
start_builds() {
    local port=$1 url=$2 b builds=() extra=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do builds+=("$1"); shift; done
    [ $# -gt 0 ] && shift && extra=("$@")
    for b in "${builds[@]}"; do
        PORT_OF[$b]=$port
        "$(require_bin "apibench-$b")" --port "$port" --database-url "$url" \
            --redis-url "$REDIS_URL" --smtp-url "$SMTP_URL" --threads 4 --quiet \
            "${extra[@]+"${extra[@]}"}" >"$TMP/$b.log" 2>&1 &
        PID_OF[$b]=$!
        track_pid $!
        TARGETS+=(--target "$b=http://127.0.0.1:$port")
        port=$((port + 1))
    done
    for b in "${builds[@]}"; do
        wait_http "http://127.0.0.1:${PORT_OF[$b]}/healthz" 30 ||
            { cat "$TMP/$b.log" >&2; fail "$b did not start"; }
    done
}

# user1_devices N - the ids of N devices user 1 may see, comma-separated (needs sql).
user1_devices() {
    sql "SELECT string_agg(id::text, ',') FROM (SELECT d.id FROM devices d
        JOIN user_sites u ON u.site_id = d.site_id AND u.user_id = 1 ORDER BY d.id LIMIT $1) s"
}

# fact NAME - a figure from restart_load.py summary's output in $TMP/facts (0 if absent).
fact() { awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$TMP/facts"; }

# statuses KIND - "201=N 503=N ..." for KIND's answers in $TMP/facts.
statuses() {
    awk -v p="$1_status_" 'index($1, p) == 1 {
        printf "%s%s=%s", sep, substr($1, length(p) + 1), $2; sep = " " }' "$TMP/facts"
}

# count_jobs IDS_FILE TIMEOUT_S - waits (at most TIMEOUT_S) until every report job listed in
# IDS_FILE is 'done', then sets JOBS_ACCEPTED, JOBS_DONE (of those, 'done') and JOBS_MAILED
# (of those, e-mailed to SINK_LOG at least once).
count_jobs() {
    local file=$1 timeout=$2 ids i id
    JOBS_ACCEPTED=$(wc -l <"$file")
    JOBS_DONE=0
    JOBS_MAILED=0
    [ "$JOBS_ACCEPTED" -gt 0 ] || return 0
    ids=$(paste -sd, "$file")
    for ((i = 0; i < timeout * 5; i++)); do
        JOBS_DONE=$(sql "SELECT count(*) FROM reports WHERE id IN ($ids) AND status = 'done'")
        [ "$JOBS_DONE" -eq "$JOBS_ACCEPTED" ] && break
        sleep 0.2
    done
    while read -r id; do
        if [ "$(sink_jobs --job-id "$id" | sed -n 's/^messages=\([0-9]*\).*/\1/p')" -ge 1 ]; then
            JOBS_MAILED=$((JOBS_MAILED + 1))
        fi
    done <"$file"
}
