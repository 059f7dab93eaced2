# tests/faults/private_services.sh - for fault tests that stop and start PostgreSQL or
# Redis: their own private services, in a temporary state folder on their own ports, so
# that the shared instance other tests use is never touched. Sourced after
# ../integration/lib.sh.
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
    SMTP_DELAY_MS=0 "$SOURCE_DIR/scripts/services" start >"$state/start.log" 2>&1 ||
        { cat "$state/start.log" >&2; fail "cannot start the private services"; }
    apibench_env
}

# now_ms - wall-clock milliseconds (the load client's log uses the same clock).
now_ms() { date +%s%3N; }
