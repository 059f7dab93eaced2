# scripts/lib/reproduce.sh - the steps of scripts/reproduce: start and stop builds,
# snapshot counters (server /metrics, pg_stat_statements, pg_stat_database, Redis INFO,
# /proc CPU ticks), calibrate the common rate, measure, search capacity, capture plans.
# Source it after scripts/lib.sh; it defines functions and runs nothing. The functions use
# the globals that scripts/reproduce sets (RUN, BIN, opt_*), listed in rp_defaults.

# ---------------------------------------------------------------- settings

# rp_defaults - the globals and their defaults; scripts/reproduce overrides from options.
rp_defaults() {
    BIN=${APIBENCH_BUILD_DIR:-$APIBENCH_ROOT/build}   # where the binaries are built
    RUN=                                  # the results folder of this run
    ALL_BUILDS=(01-baseline 02-indexes 03-cache 04-pool 05-gzip 06-async)
    opt_quick=0 opt_scale=10 opt_seed=1 opt_rate= opt_target= opt_builds= opt_instances=1
    opt_pgbouncer=0 opt_out= opt_repeat= opt_gen_cpus= opt_srv_cpus=
    MIX=$APIBENCH_ROOT/harness/mixes/default.json
    SLO_P99_MS=500          # the capacity search's latency SLO
    CAL_P99_MS=10000        # calibration: "the baseline holds" bound
    ARTICLE_RATE=167        # the article's 10k requests/minute
    HEALTH_TIMEOUT_S=30
    PGB_PORT=${APIBENCH_PGBOUNCER_PORT:-56432}
    # pids of the servers, worker and nginx this run started (stopped on exit and on Ctrl-C)
    STARTED_PIDS=()
    PARTIAL=0
    RP_PHASE=start          # what the run is doing now: named when it is interrupted
    RP_BUILD=               # the build being measured now (its folder is marked if interrupted)
}

# rp_phases - phase lengths and search settings for the chosen mode (seconds). The
# common-rate phase lasts PHASE_S, longer when needed for MIN_REQUESTS at the common rate,
# up to PHASE_MAX_S (rp_phase_for_rate). The article's load is measured for ARTICLE_S per
# repeat (at least 60 s in all, default mode), or OVERLOAD_S for a build that already broke
# the SLO at the common rate: it cannot hold 167 req/s, and its overload is measured for a
# bounded time. Capacity probes last CAP_MIN_S and CAP_MIN_REQ requests at least.
rp_phases() {
    if [ "$opt_quick" -eq 1 ]; then
        REPEAT=${opt_repeat:-1}
        WARMUP_S=1 PHASE_S=3 PHASE_MAX_S=6 MIN_REQUESTS=8
        ARTICLE_S=3 OVERLOAD_S=3 ARTICLE_TIMEOUT_MS=3000
        CAP_MIN_S=1 CAP_MIN_REQ=200 CAP_MAX_S=2 CAP_TOL=1.3 CAP_MAX_PROBES=6 CAP_WARMUP=0.3s
        CEIL_START=8000 CEIL_LAG_MS=1 CEIL_MAX_PROBES=4 FLOOR_S=2
        CAL_STEP_S=2 CAL_START=2 CAL_FACTOR=2 CAL_MAX_STEPS=5 TIMING_SAMPLES=4 TIMING_BUDGET_S=3
    else
        REPEAT=${opt_repeat:-1}
        WARMUP_S=5 PHASE_S=20 PHASE_MAX_S=30 MIN_REQUESTS=12
        # at least 60 s at the article's load in all, split over the repeats
        ARTICLE_S=$(( (60 + REPEAT - 1) / REPEAT ))
        [ "$ARTICLE_S" -lt 20 ] && ARTICLE_S=20
        OVERLOAD_S=20
        # per request at the article's load and in capacity probes: a request that fails
        # counts as at least this (and an overloaded probe ends this long after its window)
        ARTICLE_TIMEOUT_MS=10000
        CAP_MIN_S=5 CAP_MIN_REQ=2000 CAP_MAX_S=30 CAP_TOL=1.05 CAP_MAX_PROBES=16 CAP_WARMUP=0.5s
        CEIL_START=8000 CEIL_LAG_MS=1 CEIL_MAX_PROBES=8 FLOOR_S=10
        CAL_STEP_S=10 CAL_START=0.2 CAL_FACTOR=1.5 CAL_MAX_STEPS=6 TIMING_SAMPLES=10 TIMING_BUDGET_S=15
    fi
}

# rp_phase_for_rate RATE - prints the length of a phase that holds MIN_REQUESTS at RATE
# (the baseline's rate is a fraction of a request per second): PHASE_S, longer when
# needed, within PHASE_MAX_S.
rp_phase_for_rate() {
    awk -v r="$1" -v p="$PHASE_S" -v n="$MIN_REQUESTS" -v m="$PHASE_MAX_S" \
        'BEGIN { need = n / r; if (need > p) p = (need > m ? m : int(need + 0.999)); print p }'
}

# ---------------------------------------------------------------- small helpers

# rp_log MSG - a line on stdout and in RUN/steps.log.
rp_log() {
    set -- "$(ab_mask_passwords "$*")"
    printf '%s\n' "$*"
    [ -n "$RUN" ] && [ -d "$RUN" ] && printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >>"$RUN/steps.log"
    return 0
}

# rp_step NAME CMD... - runs CMD as one timed step. The step's status and seconds go to
# steps.log. Returns CMD's status.
rp_step() {
    local name=$1 t0 t1 rc
    shift
    RP_PHASE=$name
    printf '\n==== %s\n' "$name"
    t0=$(date +%s.%N)
    set +e
    "$@"
    rc=$?
    set -e
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" -eq 0 ]; then
        rp_log "step $name: ok (${secs} s)"
    else
        rp_log "step $name: FAILED with status $rc (${secs} s)"
    fi
    return "$rc"
}

# rp_psql URL SQL... - runs SQL, unaligned and quiet; stops at the first error.
rp_psql() {
    local url=$1
    shift
    "$(ab_psql)" -X -q -A -t -v ON_ERROR_STOP=1 "$url" "$@"
}

# rp_info KEY VALUE - sets KEY in RUN/run.info (key=value lines; replaced when present).
rp_info() {
    local key=$1 value
    value=$(ab_mask_passwords "${2//$'\n'/ }") # no secret in run.info (nor summary.json)
    local f=$RUN/run.info
    touch "$f"
    if grep -q "^$key=" "$f"; then
        awk -v k="$key" -v v="$value" 'BEGIN { FS = OFS = "=" }
            $1 == k { print k "=" v; next } { print }' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
    else
        printf '%s=%s\n' "$key" "$value" >>"$f"
    fi
}

# rp_build_port NAME [INSTANCE] - BASE+NN for instance 0 (18101..18106 by default), plus
# 10*i for the others. APIBENCH_PORT_BASE moves the range (the integration test uses 18900).
rp_build_port() {
    local nn=${1:0:2} i=${2:-0}
    echo $((${APIBENCH_PORT_BASE:-18100} + 10#$nn + 10 * i))
}

# rp_json FILE EXPR - prints a field of a JSON file (python3 is a project dependency).
# EXPR is a Python expression on `d`, e.g. 'd["latency"]["p99_ms"]'.
rp_json() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print("" if v is None else v)' "$1" "$2" 2>/dev/null
}

# rp_holds FILE BOUND_MS - true when the run in FILE held the SLO with p99 under BOUND_MS
# (apibench capacity --check: the one home of that decision, docs/RESULTS.md).
rp_holds() {
    "$BIN/apibench" capacity --check "$1" --slo-p99-ms "$2" >/dev/null 2>&1
}

# ---------------------------------------------------------------- CPU ticks from /proc

# rp_proc_ticks PID [WITH_CHILDREN] - utime+stime of PID (every thread), plus the reaped
# children's cutime+cstime when WITH_CHILDREN=1. 0 when PID is gone.
rp_proc_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    # fields after the ")" that closes comm: state is field 3, utime 14, stime 15, cutime 16, cstime 17
    awk -v kids="${2:-0}" '{ sub(/^.*\) /, ""); t = $12 + $13; if (kids == 1) t += $14 + $15; print t }' <<<"$stat"
}

# rp_postgres_ticks - CPU ticks of the private postgres: every live process of it plus the
# exited backends (the postmaster's cutime+cstime). Empty when postgres is not ours.
rp_postgres_ticks() {
    local pidfile pm
    case "${DATABASE_URL:-}" in
        *@127.0.0.1:"$APIBENCH_PG_PORT"/*|*@localhost:"$APIBENCH_PG_PORT"/*) ;;
        *) return 0 ;;  # not the private instance: its processes are not ours to read
    esac
    pidfile=$(ab_state_dir)/postgres/data/postmaster.pid
    pm=$(ab_read_pid "$pidfile")
    [ -n "$pm" ] && [ -d "/proc/$pm" ] || return 0
    rp_tree_ticks "$pm"
}

# rp_tree_ticks PID - CPU ticks of PID, its reaped children and its live children (the
# postmaster and its backends, nginx's master and its workers).
rp_tree_ticks() {
    # one pass over every process: add utime+stime of PID's children
    cat /proc/[0-9]*/stat 2>/dev/null |
        awk -v pm="$1" -v t="$(rp_proc_ticks "$1" 1)" '{ sub(/^.*\) /, ""); if ($2 == pm) t += $12 + $13 }
                                                       END { print t }'
}

# rp_snapshot SNAP PROM - writes PROM (every instance's /metrics, concatenated) and the
# key=value file SNAP (docs/RESULTS.md lists the keys).
rp_snapshot() {
    local out=$1 prom=$2 url p ticks=0 wticks=
    : >"$prom"
    for url in "${TARGETS[@]}"; do
        curl -fsS --max-time 10 "$url/metrics" >>"$prom" 2>/dev/null || true
    done
    for p in "${SERVER_PIDS[@]}"; do
        ticks=$((ticks + $(rp_proc_ticks "$p")))
    done
    [ -n "${WORKER_PID:-}" ] && wticks=$(rp_proc_ticks "$WORKER_PID")
    {
        echo "wall_ns=$(date +%s%N)"
        echo "clk_tck=$(getconf CLK_TCK)"
        echo "cores=$(nproc)"
        [ ${#SERVER_PIDS[@]} -gt 0 ] && echo "server_ticks=$ticks"
        [ -n "$wticks" ] && echo "worker_ticks=$wticks"
        p=$(rp_postgres_ticks)
        [ -n "$p" ] && echo "pg_ticks=$p"
        awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; total = busy + $5 + $6;
                       print "machine_busy_ticks=" busy; print "machine_total_ticks=" total }' /proc/stat
        # statements of the servers' role, without the snapshot's own queries
        [ -n "${DATABASE_URL:-}" ] && rp_psql "$DATABASE_URL" -c "SELECT 'pgss_calls=' || coalesce(sum(s.calls), 0)
            FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
            WHERE r.rolname = '$APP_ROLE' AND s.query NOT ILIKE '%pg_stat%'
              AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())" 2>/dev/null || true
        [ -n "${DATABASE_URL:-}" ] && rp_psql "$DATABASE_URL" -c "SELECT 'pg_xact_commit=' || xact_commit, 'pg_xact_rollback=' || xact_rollback,
                   'pg_blks_read=' || blks_read, 'pg_blks_hit=' || blks_hit,
                   'pg_tup_returned=' || tup_returned, 'pg_tup_fetched=' || tup_fetched
            FROM pg_stat_database WHERE datname = current_database()" -F $'\n' 2>/dev/null || true
        redis-cli -u "$REDIS_URL" INFO stats 2>/dev/null | tr -d '\r' |
            awk -F: '/^(keyspace_hits|keyspace_misses|total_commands_processed):/ { print "redis_" $1 "=" $2 }'
    } >"$out"
}

# ---------------------------------------------------------------- builds

# rp_app_role - the role the servers connect as (user part of APP_DATABASE_URL).
rp_app_role() {
    local u=${APP_DATABASE_URL#*://}
    u=${u%%@*}
    echo "${u%%:*}"
}

# rp_server_cmd NAME - the command that starts build NAME, one word per line (the usual
# flags are added by rp_start_build): a named build's binary; 04-pgbouncer runs 03-cache's.
rp_server_cmd() {
    ablation_server_cmd "$1" && return 0 # an ablation's composition (scripts/lib/ablation.sh)
    case "$1" in
        04-pgbouncer) echo "$BIN/apibench-03-cache" ;;
        *) echo "$BIN/apibench-$1" ;;
    esac
}

# rp_needs NAME - what build NAME needs around it, from its own `--needs` (indexes
# create|drop, schema FILE, worker, composition ...): decided by its strategies, never by
# its name.
rp_needs() {
    local cmd
    mapfile -t cmd < <(rp_server_cmd "$1")
    [ -x "${cmd[0]}" ] || { echo "${cmd[0]} was not built" >&2; return 1; }
    "${cmd[@]}" --needs
}

# rp_needs_has NAME LINE - true when build NAME's needs include LINE.
rp_needs_has() {
    rp_needs "$1" 2>/dev/null | grep -qx "$2"
}

# rp_apply_sql NAME - the index state (and extra schema) build NAME needs. Sets
# INDEXES_CHANGED=1 when it created or dropped an index.
rp_apply_sql() {
    local name=$1 needs before after file
    needs=$(rp_needs "$name") || return 1
    before=$(rp_index_state)
    if grep -qx "indexes drop" <<<"$needs"; then
        rp_psql "$DATABASE_URL" -c "DROP INDEX IF EXISTS devices_status_id_idx;
            DROP INDEX IF EXISTS readings_device_id_timestamp_idx;
            DROP INDEX IF EXISTS readings_timestamp_idx"
    else
        rp_psql "$DATABASE_URL" -f "$APIBENCH_ROOT/sql/indexes_article.sql" &&
            rp_psql "$DATABASE_URL" -f "$APIBENCH_ROOT/sql/index_headline.sql"
    fi || return 1
    for file in $(sed -n 's/^schema //p' <<<"$needs"); do
        rp_psql "$DATABASE_URL" -f "$APIBENCH_ROOT/$file" || return 1
    done
    after=$(rp_index_state)
    if [ "$before" != "$after" ]; then
        rp_log "indexes now: ${after:-none}; VACUUM ANALYZE"
        rp_fg rp_psql "$DATABASE_URL" -c "VACUUM ANALYZE devices" -c "VACUUM ANALYZE readings" || return 1
    fi
}

# rp_index_state - the three build indexes that exist now, space-separated.
rp_index_state() {
    rp_psql "$DATABASE_URL" -c "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes
        WHERE indexname IN ('devices_status_id_idx', 'readings_device_id_timestamp_idx', 'readings_timestamp_idx')"
}

# rp_start_build NAME DIR - starts opt_instances instances of build NAME (rp_server_cmd;
# logs in DIR) on NAME's ports, and the worker first when the build needs one,
# fills SERVER_PIDS and TARGETS, waits for /healthz; with BALANCE=1, then the balancer.
# Returns 1 with DIR/status written
# ("failed: reason") when one does not come up. rp_stop_build stops them all.
rp_start_build() {
    local name=$1 dir=$2 cmd i port url t
    SERVER_PIDS=() TARGETS=()
    mapfile -t cmd < <(rp_server_cmd "$name")
    [ -x "${cmd[0]}" ] || { echo "failed: ${cmd[0]} was not built" >"$dir/status"; return 1; }
    if rp_needs_has "$name" worker; then
        rp_start_worker "$dir" || return 1
    fi
    for ((i = 0; i < opt_instances; i++)); do
        port=$(rp_build_port "$name" "$i")
        if ab_tcp_open 127.0.0.1 "$port"; then
            echo "failed: port $port is already in use (another server left running?)" >"$dir/status"
            return 1
        fi
        # shellcheck disable=SC2086
        APP_DATABASE_URL=$SERVER_DB_URL "${SRV_ON[@]}" "${cmd[@]}" --port "$port" --quiet \
            --database-url "$SERVER_DB_URL" --redis-url "$REDIS_URL" $SERVER_EXTRA_FLAGS \
            >"$dir/server.$i.log" 2>&1 &
        SERVER_PIDS+=("$!")
        STARTED_PIDS+=("$!")
        TARGETS+=("http://127.0.0.1:$port")
    done
    for ((i = 0; i < opt_instances; i++)); do
        url=${TARGETS[$i]}
        for ((t = 0; t < HEALTH_TIMEOUT_S * 10; t++)); do
            curl -fsS --max-time 2 "$url/healthz" >/dev/null 2>&1 && break
            if ! ab_pid_alive "${SERVER_PIDS[$i]}"; then
                wait "${SERVER_PIDS[$i]}" 2>/dev/null
                echo "failed: exited (status $?) before /healthz answered: $(tail -n 1 "$dir/server.$i.log")" >"$dir/status"
                return 1
            fi
            sleep 0.1
        done
        if [ "$t" -ge $((HEALTH_TIMEOUT_S * 10)) ]; then
            echo "failed: /healthz did not answer within ${HEALTH_TIMEOUT_S} s" >"$dir/status"
            return 1
        fi
    done
    # --instances K > 1: nginx in front of them (scripts/lib/instances.sh)
    [ "${BALANCE:-0}" -eq 0 ] || rp_balancer_start "$dir"
}

# rp_pgbouncer_start DIR - a private PgBouncer on 127.0.0.1:PGB_PORT in front of the
# database of APP_DATABASE_URL, session pooling (the servers' prepared statements do not
# survive transaction pooling in PgBouncer 1.18), pool of 20 server connections as 04-pool.
# Sets PGB_URL and PGB_PID.
rp_pgbouncer_start() {
    local dir=$1 conf=$1/pgbouncer host port db user u rest
    command -v pgbouncer >/dev/null || { echo "failed: pgbouncer is not installed (apt-get install pgbouncer)" >"$dir/status"; return 1; }
    u=${APP_DATABASE_URL#*://}
    user=${u%%@*}; user=${user%%:*}
    rest=${u#*@}; host=${rest%%/*}; db=${rest#*/}; db=${db%%\?*}
    port=${host##*:}; host=${host%%:*}
    [ "$port" = "$host" ] && port=5432
    mkdir -p "$conf"
    {
        echo "[databases]"
        echo "$db = host=$host port=$port dbname=$db"
        echo "[pgbouncer]"
        echo "listen_addr = 127.0.0.1"
        echo "listen_port = $PGB_PORT"
        echo "unix_socket_dir ="
        echo "auth_type = trust"
        echo "auth_file = $conf/users.txt"
        echo "pool_mode = session"
        echo "default_pool_size = 20"
        echo "min_pool_size = 5"
        echo "server_idle_timeout = 30"
        echo "max_client_conn = 500"
        echo "ignore_startup_parameters = extra_float_digits,options"
        echo "logfile = $conf/pgbouncer.log"
        echo "pidfile = $conf/pgbouncer.pid"
    } >"$conf/pgbouncer.ini"
    printf '"%s" ""\n' "$user" >"$conf/users.txt"
    if ab_tcp_open 127.0.0.1 "$PGB_PORT"; then
        echo "failed: port $PGB_PORT is in use (another pgbouncer?)" >"$dir/status"
        return 1
    fi
    if ab_is_root; then
        # pgbouncer refuses to run as root
        chown -R postgres "$conf" 2>/dev/null || true
        runuser -u postgres -- test -r "$conf/pgbouncer.ini" 2>/dev/null || {
            echo "failed: the postgres user, who runs pgbouncer, cannot read $conf (a private parent folder?)" >"$dir/status"
            return 1
        }
        runuser -u postgres -- pgbouncer "$conf/pgbouncer.ini" >/dev/null 2>&1 &
    else
        pgbouncer "$conf/pgbouncer.ini" >/dev/null 2>&1 &
    fi
    PGB_PID=$!
    ab_wait_tcp 127.0.0.1 "$PGB_PORT" 10 || { echo "failed: pgbouncer did not start: $(tail -n 1 "$conf/pgbouncer.log" 2>/dev/null)" >"$dir/status"; return 1; }
    PGB_URL="postgresql://$user@127.0.0.1:$PGB_PORT/$db"
    rp_log "pgbouncer: session pooling, 20 server connections, at $PGB_URL"
}

rp_pgbouncer_stop() {
    [ -n "${PGB_PID:-}" ] || return 0
    rp_stop_pid "$PGB_PID"
    PGB_PID=
}

# rp_clear_cache URL - deletes the Redis cache entries of the servers that use database URL
# (03-cache's keys are "[$APIBENCH_REDIS_PREFIX]apibench:cache:<FNV-1a of the URL>:<ns>"),
# so that each build starts cold instead of inheriting the previous build's entries. Other
# databases' entries (other tests sharing this Redis) are left alone.
rp_clear_cache() {
    local scope
    scope=$(python3 -c 'import sys
h = 2166136261
for b in sys.argv[1].encode():
    h = ((h ^ b) * 16777619) & 0xffffffff
print("%08x" % h)' "$1")
    redis-cli -u "$REDIS_URL" --scan --pattern "${APIBENCH_REDIS_PREFIX:-}apibench:cache:$scope:*" 2>/dev/null |
        xargs -r -n 100 redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
}

# rp_drop_stream - deletes this run's job stream keys (APIBENCH_STREAM*) once 06-async and
# its worker are stopped: jobs the sweep left queued belong to no later run.
rp_drop_stream() {
    redis-cli -u "$REDIS_URL" --scan --pattern "${APIBENCH_REDIS_PREFIX:-}$APIBENCH_STREAM*" 2>/dev/null |
        xargs -r -n 100 redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
}

# rp_servers_alive - true when every instance of the current build (and 06-async's
# worker) is still running.
rp_servers_alive() {
    local p
    [ -n "$opt_target" ] && return 0
    for p in "${SERVER_PIDS[@]}" ${WORKER_PID:+"$WORKER_PID"}; do
        ab_pid_alive "$p" || return 1
    done
}

# rp_build_dead DIR WHEN - after rp_servers_alive failed: writes DIR/status "dead: which
# process, how it ended (exit status, signal, the OOM killer when the kernel log says so),
# WHEN" and DIR/last_log.txt, the last lines of that process's log. The report shows both.
rp_build_dead() {
    local dir=$1 when=$2 i p log= who= how rc
    for i in "${!SERVER_PIDS[@]}"; do
        ab_pid_alive "${SERVER_PIDS[$i]}" && continue
        p=${SERVER_PIDS[$i]} log=$dir/server.$i.log who="instance $i (pid $p)"
        break
    done
    if [ -z "$who" ] && [ -n "${WORKER_PID:-}" ] && ! ab_pid_alive "$WORKER_PID"; then
        p=$WORKER_PID log=$dir/worker.log who="apibench-worker (pid $p)"
    fi
    [ -n "$who" ] || return 0
    rc=0
    wait "$p" 2>/dev/null || rc=$?
    if ((rc > 128 && rc <= 128 + 64)); then
        how="killed by signal $((rc - 128)) (SIG$(kill -l "$((rc - 128))" 2>/dev/null || echo '?'))"
        dmesg 2>/dev/null | grep -q "Killed process $p " && how="$how, by the OOM killer"
    else
        how="exited with status $rc"
    fi
    echo "dead: $who $how $when" >"$dir/status"
    tail -n 20 "$log" >"$dir/last_log.txt" 2>/dev/null || : >"$dir/last_log.txt"
    rp_log "$(basename "$dir"): dead: $who $how $when; its last log lines:"
    sed 's/^/    /' "$dir/last_log.txt"
}

# rp_stop_pid PID [GRACE_S] - SIGTERM, then SIGKILL after GRACE_S (10) seconds.
rp_stop_pid() {
    rp_stop_pids "${2:-10}" "$1"
}

# rp_stop_pids GRACE_S PID... - SIGTERM to every PID at once, then SIGKILL to those still
# running after GRACE_S seconds; reaps the ones that are this shell's children.
rp_stop_pids() {
    local grace=$1 p i left
    shift
    for p in "$@"; do
        ab_pid_alive "$p" && kill -TERM "$p" 2>/dev/null
    done
    for ((i = 0; i < grace * 10; i++)); do
        left=0
        for p in "$@"; do
            ab_pid_alive "$p" && { left=1; break; }
        done
        [ "$left" -eq 0 ] && break
        sleep 0.1
    done
    for p in "$@"; do
        ab_pid_alive "$p" && kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null || true
    done
    # forget them: a pid stopped here may later name another process
    local keep=()
    for p in "${STARTED_PIDS[@]}"; do
        [[ " $* " == *" $p "* ]] || keep+=("$p")
    done
    STARTED_PIDS=("${keep[@]}")
    return 0
}

# rp_stop_build [GRACE_S] - stops the current build's instances and worker.
rp_stop_build() {
    rp_stop_pids "${1:-10}" "${SERVER_PIDS[@]}" ${WORKER_PID:+"$WORKER_PID"}
    SERVER_PIDS=() WORKER_PID=
}

# rp_start_worker DIR - starts apibench-worker for 06-async.
rp_start_worker() {
    local dir=$1
    [ -x "$BIN/apibench-worker" ] || { echo "failed: $BIN/apibench-worker was not built" >"$dir/status"; return 1; }
    "${SRV_ON[@]}" "$BIN/apibench-worker" --quiet --database-url "${WORKER_DATABASE_URL:-$DATABASE_URL}" \
        --redis-url "$REDIS_URL" --smtp-url "$SMTP_URL" >"$dir/worker.log" 2>&1 &
    WORKER_PID=$!
    STARTED_PIDS+=("$WORKER_PID")
    sleep 0.5
    if ! ab_pid_alive "$WORKER_PID"; then
        echo "failed: apibench-worker exited at start: $(tail -n 1 "$dir/worker.log")" >"$dir/status"
        return 1
    fi
}

# ---------------------------------------------------------------- interruption

# rp_fg CMD... - runs CMD (a command or a function) as this run's foreground work, but in
# the background, waited for: bash runs a trap only between commands, so a SIGTERM sent to
# this script alone would otherwise wait for a seeding or a capacity search to end. Returns
# CMD's status.
rp_fg() {
    "$@" &
    wait "$!"
}

# rp_run_pids - prints the pids of every process this run started and that still runs,
# wherever it was reparented: each carries APIBENCH_REPRODUCE_RUN=RUN in its environment
# (scripts/reproduce exports it). This shell and its own helpers are left out.
rp_run_pids() {
    local me=$BASHPID f pid ppid files
    mapfile -t files < <(grep -lzxF "APIBENCH_REPRODUCE_RUN=$RUN" /proc/[0-9]*/environ 2>/dev/null)
    for f in "${files[@]}"; do
        pid=${f#/proc/} pid=${pid%/environ}
        [ "$pid" = "$$" ] || [ "$pid" = "$me" ] && continue
        ppid=$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$pid/stat" 2>/dev/null) || continue
        [ -n "$ppid" ] && [ "$ppid" != "$me" ] && echo "$pid"
    done
    return 0
}

# rp_stop_run_pids GRACE_S [KEEP_PID...] - stops (rp_stop_pids) every process of this run
# but the KEEP_PIDs and their children.
rp_stop_run_pids() {
    local grace=$1 p ppid pids=()
    shift
    for p in $(rp_run_pids); do
        ppid=$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$p/stat" 2>/dev/null) || continue
        [[ " $* " == *" $p "* || " $* " == *" $ppid "* ]] || pids+=("$p")
    done
    [ ${#pids[@]} -eq 0 ] || rp_stop_pids "$grace" "${pids[@]}"
}

# ---------------------------------------------------------------- CPU placement

# rp_placement - decides where the generator and the servers run and sets GEN_CPUS and
# SRV_CPUS (taskset lists, empty: anywhere) and PLACEMENT (split or shared). With 4 or more
# cores, the generator gets the last quarter of them (at least one) and the API servers,
# their worker and nginx the rest; --generator-cpus / --server-cpus choose the sets (one
# given: the other is every other core). With fewer cores the work is shared. Postgres and
# Redis are services of their own and stay unpinned.
rp_placement() {
    local cores
    cores=$(nproc)
    GEN_CPUS=$opt_gen_cpus SRV_CPUS=$opt_srv_cpus
    if [ -z "$GEN_CPUS$SRV_CPUS" ] && [ "$cores" -ge 4 ]; then
        local g=$((cores / 4))
        GEN_CPUS=$((cores - g))-$((cores - 1))
        SRV_CPUS=0-$((cores - g - 1))
    elif [ -n "$GEN_CPUS" ] && [ -z "$SRV_CPUS" ]; then
        SRV_CPUS=$(rp_cpus_except "$GEN_CPUS" "$cores")
    elif [ -z "$GEN_CPUS" ] && [ -n "$SRV_CPUS" ]; then
        GEN_CPUS=$(rp_cpus_except "$SRV_CPUS" "$cores")
    fi
    if [ -n "$GEN_CPUS" ] && [ -n "$SRV_CPUS" ]; then
        PLACEMENT=split
    else
        PLACEMENT=shared GEN_CPUS= SRV_CPUS=
    fi
    # command prefixes: "${GEN_ON[@]}" CMD runs CMD on the generator's cores (taskset
    # execs it, so a background CMD's $! is CMD's own pid)
    GEN_ON=() SRV_ON=()
    [ -n "$GEN_CPUS" ] && GEN_ON=(taskset -c "$GEN_CPUS")
    [ -n "$SRV_CPUS" ] && SRV_ON=(taskset -c "$SRV_CPUS")
    return 0
}

# rp_cpus_except LIST CORES - the cores 0..CORES-1 not in the taskset LIST, as a list.
rp_cpus_except() {
    python3 - "$1" "$2" <<'EOF2'
import sys
taken = set()
for part in sys.argv[1].split(","):
    lo, _, hi = part.partition("-")
    taken.update(range(int(lo), int(hi or lo) + 1))
rest = [str(c) for c in range(int(sys.argv[2])) if c not in taken]
print(",".join(rest))
EOF2
}

# rp_check_cpus LIST - true when LIST is a taskset list of cores this machine has.
rp_check_cpus() {
    [[ "$1" =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] && taskset -c "$1" true 2>/dev/null
}

# ---------------------------------------------------------------- the generator's own limits

# rp_nginx_start DIR - a private nginx on 127.0.0.1:NGINX_PORT serving DIR/www (quiet,
# gzip_static), on the servers' cores. Sets NGINX_PID. Returns 1 when it does not serve.
rp_nginx_start() {
    local dir=$1 nginx t
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$nginx" ] || { rp_log "generator: nginx is not installed (apt-get install nginx-light)"; return 1; }
    ab_tcp_open 127.0.0.1 "$NGINX_PORT" && { rp_log "generator: port $NGINX_PORT is in use"; return 1; }
    ab_nginx_conf "$dir" "$NGINX_PORT"
    "${SRV_ON[@]}" "$nginx" -p "$dir" -e "$dir/logs/error.log" -c "$dir/nginx.conf" -g 'daemon off;' \
        >"$dir/logs/nginx.out" 2>&1 &
    NGINX_PID=$!
    STARTED_PIDS+=("$NGINX_PID")
    for ((t = 0; t < 50; t++)); do
        curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/latest.json" 2>/dev/null && return 0
        sleep 0.1
    done
    rp_log "generator: nginx does not serve: $(tail -n 2 "$dir/logs/error.log" 2>/dev/null)"
    return 1
}

# rp_generator_body DIR - the headline body (/api/readings/latest?limit=100 of the first
# seeded user, from the build under test now) as DIR/www/latest.json, and latest.json.gz
# compressed at level 6 as 05-gzip compresses; sizes in DIR/body.info.
rp_generator_body() {
    local dir=$1
    mkdir -p "$dir/www"
    rp_fg curl -fsS --max-time 60 -H "X-API-Key: $API_KEY" -H 'Accept-Encoding: identity' \
        -o "$dir/www/latest.json" "${TARGETS[0]}/api/readings/latest?limit=100" || return 1
    gzip -6 -n -c "$dir/www/latest.json" >"$dir/www/latest.json.gz"
    chmod 644 "$dir/www/latest.json" "$dir/www/latest.json.gz"
    {
        echo "path=/api/readings/latest?limit=100"
        echo "identity_bytes=$(stat -c %s "$dir/www/latest.json")"
        echo "gzip_bytes=$(stat -c %s "$dir/www/latest.json.gz")"
    } >"$dir/body.info"
}

# rp_nginx_load OUT RATE DURATION_S ENCODING - apibench run against the nginx of
# rp_nginx_start, GET /latest.json (ENCODING identity or gzip).
rp_nginx_load() {
    local out=$1 rate=$2 dur=$3 enc=$4
    # shellcheck disable=SC2086
    rp_fg "${GEN_ON[@]}" "$BIN/apibench" run --target "http://127.0.0.1:$NGINX_PORT" --path /latest.json \
        --rate "$rate" --duration "$dur" --warmup 1 --quiet --out "$out" $LOAD_EXTRA \
        $([ "$enc" = identity ] && echo --no-gzip)
}

# rp_generator_ceiling DIR - the highest rate the harness drives on this machine, searched
# as a build's capacity is, against nginx serving the headline body, identity then gzip:
# the SLO plus send-lag p99 <= CEIL_LAG_MS (past that the generator, not the server, is late).
# Near its ceiling the generator's send lag varies from run to run, so this search is
# bounded to CEIL_MAX_PROBES probes and its bracket may stay wider than the tolerance.
# Sets CEILING_IDENTITY and CEILING_GZIP (the lower bounds; empty when not found).
rp_generator_ceiling() {
    local dir=$1 enc start=$CEIL_START
    CEILING_IDENTITY= CEILING_GZIP=
    for enc in identity gzip; do
        # shellcheck disable=SC2086
        rp_fg "${GEN_ON[@]}" "$BIN/apibench" capacity --target "http://127.0.0.1:$NGINX_PORT" \
            --path /latest.json $([ "$enc" = identity ] && echo --no-gzip) \
            --out "$dir/ceiling-$enc" --start "$start" --tolerance "$CAP_TOL" \
            --slo-p99-ms "$SLO_P99_MS" --max-lag-ms "$CEIL_LAG_MS" --min-duration "${CAP_MIN_S}s" \
            --min-requests "$CAP_MIN_REQ" --max-duration "${CAP_MAX_S}s" --probe-warmup "$CAP_WARMUP" \
            --max-probes "$CEIL_MAX_PROBES" $LOAD_EXTRA >"$dir/ceiling-$enc.log" 2>&1 ||
            rp_log "generator: the $enc ceiling search failed: $(tail -n 1 "$dir/ceiling-$enc.log")"
        local lower
        lower=$(rp_json "$dir/ceiling-$enc/capacity.json" 'd["lower"]')
        rp_log "generator: ceiling ($enc body) $(rp_bracket "$dir/ceiling-$enc/capacity.json")"
        # a search that held at no rate found no ceiling (a lower bound of 0 caps nothing)
        awk -v l="${lower:-0}" 'BEGIN { exit !(l > 0) }' || lower=
        if [ "$enc" = identity ]; then
            CEILING_IDENTITY=$lower
            # the gzip body is smaller: its search starts where the identity one ended
            [ -n "$lower" ] && start=$lower
        else
            CEILING_GZIP=$lower
        fi
    done
}

# rp_bracket FILE - "[lower, upper] req/s (limited by ...)" of a capacity.json, for logs.
rp_bracket() {
    rp_json "$1" '"[%s, %s] req/s (limited by %s, %d probes)" % (round(d["lower"] or 0, 1),
        "-" if d.get("upper") is None else round(d["upper"], 1), d.get("limited_by"), len(d.get("probes", [])))' ||
        echo "not measured"
}

# rp_generator_floor DIR NAME RATE DURATION_S - the harness's latency against nginx at
# RATE (identity body): the part of a build's latency that is the harness and loopback.
rp_generator_floor() {
    rp_nginx_load "$1/floor-$2" "$3" "$4" identity >"$1/floor-$2.log" 2>&1 ||
        rp_log "generator: the floor at $3 req/s failed: $(tail -n 1 "$1/floor-$2.log")"
    rp_log "generator: floor at $3 req/s: p50 $(rp_json "$1/floor-$2.json" 'd["latency"]["p50_ms"]') ms, p99 $(rp_json "$1/floor-$2.json" 'd["latency"]["p99_ms"]') ms ($(rp_json "$1/floor-$2.json" 'd["latency"]["count"]') requests)"
}

# ---------------------------------------------------------------- capacity

# rp_capacity DIR START CEILING - apibench capacity against the build under test: x2 probes
# from START, bisection to CAP_TOL, one confirmation, capped at CEILING (the generator's;
# empty: none), with DIR/article.json (the article's load) as a known probe. Results in
# DIR/capacity/.
rp_capacity() {
    local dir=$1 start=$2 ceiling=$3 known=()
    [ -f "$dir/article.json" ] && known=(--known "$dir/article.json")
    # shellcheck disable=SC2086
    net_run rp_fg "${GEN_ON[@]}" "$BIN/apibench" capacity --target "$(rp_load_url)" --mix "$MIX" --seed "$opt_seed" \
        --out "$dir/capacity" --start "$start" ${ceiling:+--ceiling "$ceiling"} "${known[@]}" \
        --tolerance "$CAP_TOL" --slo-p99-ms "$SLO_P99_MS" --min-duration "${CAP_MIN_S}s" \
        --min-requests "$CAP_MIN_REQ" --max-duration "${CAP_MAX_S}s" --probe-warmup "$CAP_WARMUP" \
        --max-probes "$CAP_MAX_PROBES" --timeout-ms "$ARTICLE_TIMEOUT_MS" $LOAD_EXTRA "${NET_RUN_ARGS[@]}" \
        >"$dir/capacity.log" 2>&1
}

# rp_settle - after an overloaded phase: waits (at most 30 s) until no statement of the
# servers' role is still running in Postgres, so that the next measurement starts clean.
rp_settle() {
    local i n
    [ -n "${DATABASE_URL:-}" ] || return 0
    for ((i = 0; i < 60; i++)); do
        n=$(rp_psql "$DATABASE_URL" -c "SELECT count(*) FROM pg_stat_activity
            WHERE usename = '$APP_ROLE' AND state = 'active'" 2>/dev/null) || return 0
        [ "$n" = 0 ] && return 0
        sleep 0.5
    done
    rp_log "settle: $n statements of $APP_ROLE still running after 30 s"
}

# ---------------------------------------------------------------- load

# rp_make_mix FROM TO - the run's mix: FROM with the device range of this scale (the
# seeder makes 1000 devices per scale unit), the keys of this seed, and 5% report requests
# taken from the headline route (so that 06-async's change is on the measured path).
rp_make_mix() {
    python3 - "$1" "$2" "$opt_scale" "$opt_seed" <<'EOF'
import json, sys
src, dst, scale, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
m = json.load(open(src))
m["name"] = "reproduce"
m["description"] = ("scripts/reproduce's mix, from %s: devices 1..%d (scale %d), keys of seed %d, "
                    "5%% report requests (weight moved from the headline route)" % (src.split("/")[-1], 1000 * scale, scale, seed))
m["dataset_seed"] = seed
m["dataset_scale"] = scale  # each user asks about devices on their own sites
m.setdefault("devices", {"zipf_skew": 1.0})
m["devices"]["min"], m["devices"]["max"] = 1, 1000 * scale
routes = m["routes"]
if not any(r["route"] == "report" for r in routes):
    for r in routes:
        if r["route"] == "latest":
            r["weight"] -= 5
    routes.append({"route": "report", "weight": 5, "kind": "device", "hours": 24, "email": "ops@example.com"})
json.dump(m, open(dst, "w"), indent=2)
EOF
}

# rp_load OUT RATE DURATION_S [FLAG...] - one measured open-loop phase with no warm-up of
# its own against the one target, or the balancer of --instances K (rp_load_url); results
# in OUT.json + OUT.*.hgrm + OUT.*.hlog. Flags go to apibench run, after those in
# LOAD_EXTRA. The generator runs on GEN_CPUS (rp_placement). Several generators whose
# segments merge exactly are scripts/distributed-run's business (docs/SEGMENTS.md).
rp_load() {
    local out=$1 rate=$2 dur=$3
    shift 3
    # shellcheck disable=SC2086
    net_run rp_fg "${GEN_ON[@]}" "$BIN/apibench" run --target "$(rp_load_url)" --rate "$rate" --duration "$dur" \
        --warmup 0 --mix "$MIX" --seed "$opt_seed" --quiet --out "$out" $LOAD_EXTRA "${NET_RUN_ARGS[@]}" "$@"
}

# rp_calibrate DIR - offers the baseline rising rates (CAL_START, x CAL_FACTOR) and sets
# COMMON_RATE to the highest that held. "Held" bounds p99 twice: under CAL_P99_MS, and at
# most twice the p99 of the first, lightest step, so that a rate where requests already
# queue behind each other is not taken for one the baseline holds. Results in DIR/sweep/.
rp_calibrate() {
    local dir=$1/sweep rate=$CAL_START i out held= bound=$CAL_P99_MS p99
    mkdir -p "$dir"
    for ((i = 0; i < CAL_MAX_STEPS; i++)); do
        out=$dir/rate-$(printf '%010.3f' "$rate")
        rp_load "$out" "$rate" "$CAL_STEP_S" >/dev/null 2>&1 || true
        rp_servers_alive || { rp_log "calibration: the baseline died"; return 1; }
        if [ -f "$out.json" ] && rp_holds "$out.json" "$bound"; then
            held=$rate
            p99=$(rp_json "$out.json" 'd["latency"]["p99_ms"]')
            rp_log "calibration: $rate req/s holds (p99 $p99 ms, bound $bound ms)"
            [ "$i" -eq 0 ] && bound=$(awk -v p="$p99" -v cap="$CAL_P99_MS" \
                'BEGIN { b = 2 * p; if (b > cap) b = cap; printf "%.0f", b }')
        else
            rp_log "calibration: $rate req/s does not hold (bound $bound ms)"
            break
        fi
        rate=$(awk -v r="$rate" -v f="$CAL_FACTOR" 'BEGIN { print r * f }')
    done
    if [ -z "$held" ]; then
        held=$(awk -v r="$CAL_START" 'BEGIN { print r / 2 }')
        rp_log "calibration: not even $CAL_START req/s held; using $held req/s"
    fi
    COMMON_RATE=$held
}

# rp_timing_sample DIR - the Server-Timing header of TIMING_SAMPLES sequential headline
# requests (gzip accepted, as the mix's clients do) into DIR/timing.txt; at least 3, and no
# more once TIMING_BUDGET_S has passed (the baseline takes seconds per request).
# The snapshots around it (sample.before, sample.after) give queries per headline request.
rp_timing_sample() {
    local dir=$1 i
    : >"$dir/timing.txt"
    [ -n "${API_KEY:-}" ] || return 0
    rp_snapshot "$dir/sample.before" "$dir/sample.before.prom"
    local t_end=$(($(date +%s) + TIMING_BUDGET_S))
    for ((i = 0; i < TIMING_SAMPLES; i++)); do
        [ "$i" -ge 3 ] && [ "$(date +%s)" -ge "$t_end" ] && break
        curl -sS -o /dev/null -D - --max-time 30 -H "X-API-Key: $API_KEY" \
            -H 'Accept-Encoding: gzip' "${TARGETS[0]}/api/readings/latest?limit=100" 2>/dev/null |
            tr -d '\r' | awk 'tolower($1) == "server-timing:" { sub(/^[^:]*: */, ""); print }' >>"$dir/timing.txt"
    done
    rp_snapshot "$dir/sample.after" "$dir/sample.after.prom"
}

# rp_jobs_latency DIR SINCE_EPOCH - for 06-async: waits (bounded) for the queue to drain,
# then writes the acceptance-to-mailed latency (ms) of the reports created since SINCE.
rp_jobs_latency() {
    local dir=$1 since=$2 i left
    for ((i = 0; i < 60; i++)); do
        left=$(rp_psql "$DATABASE_URL" -c "SELECT count(*) FROM reports
            WHERE created_at >= to_timestamp($since) AND status IN ('queued', 'running')") || break
        [ "$left" = 0 ] && break
        sleep 0.5
    done
    rp_psql "$DATABASE_URL" -c "SELECT round(extract(epoch FROM mailed_at - created_at) * 1000, 3)
        FROM reports WHERE created_at >= to_timestamp($since) AND mailed_at IS NOT NULL" >"$dir/jobs.txt" || true
}

# ---------------------------------------------------------------- plans

# rp_sql_file FILE - the statement of an .sql file without its comments and final ";".
rp_sql_file() {
    sed -e 's/--.*$//' "$1" | tr '\n' ' ' | sed -e 's/ *; *$//' -e 's/  */ /g'
}

# The article's two headline queries on this schema (sql/queries/article_*.sql).
RP_NAIVE_SQL=$(rp_sql_file "$APIBENCH_ROOT/sql/queries/article_before.sql" 2>/dev/null) ||
    RP_NAIVE_SQL="SELECT * FROM devices d JOIN readings r ON d.id = r.device_id
WHERE d.status = 'active' ORDER BY r.\"timestamp\" DESC LIMIT 100"
RP_OPTIMISED_SQL=$(rp_sql_file "$APIBENCH_ROOT/sql/queries/article_after.sql" 2>/dev/null) ||
    RP_OPTIMISED_SQL="SELECT d.id, d.name, d.status, r.temperature, r.\"timestamp\"
FROM devices d INNER JOIN readings r ON d.id = r.device_id
WHERE d.status = 'active' AND r.\"timestamp\" > NOW() - INTERVAL '1 day'
ORDER BY r.\"timestamp\" DESC LIMIT 100"

# The builds' own first-page headline queries, as the servers send them (copied from
# core/src/queries_naive.c statement 5 and queries_optimised.c latest_first; the C files
# are what runs), with $1 = the sites of user 1 (SITES) and a page of 100.
RP_NAIVE_PAGE_SQL='SELECT * FROM devices d JOIN readings r ON d.id = r.device_id
WHERE d.status = '"'active'"' AND d.site_id = ANY(:SITES::int[])
ORDER BY r."timestamp" DESC, r.id DESC LIMIT 100 OFFSET 0'
RP_OPTIMISED_PAGE_SQL='SELECT r.id, d.id, d.name, d.site_id, s.name, r."timestamp", r.temperature,
r.humidity, r.battery, r.rssi
FROM devices d JOIN readings r ON r.device_id = d.id JOIN sites s ON s.id = d.site_id
WHERE d.status = '"'active'"' AND d.site_id = ANY(:SITES::int[])
AND r."timestamp" > now() - interval '"'1 day'"'
ORDER BY r."timestamp" DESC, r.id DESC LIMIT 100'

# rp_explain FILE SQL LABEL - EXPLAIN (ANALYZE, BUFFERS) of SQL into FILE, with a header
# naming the index state.
rp_explain() {
    local file=$1 sql=$2 label=$3
    {
        echo "-- $label"
        echo "-- indexes: $(rp_index_state)"
        echo "-- query:"
        sed 's/^/--   /' <<<"$sql"
        rp_psql "$DATABASE_URL" -c "EXPLAIN (ANALYZE, BUFFERS) $sql"
    } >"$file" 2>&1
}

# rp_build_plans NAME FILE - for build NAME (its index state is in place): EXPLAIN of its
# own first-page headline query, then of the article's query of its step, into FILE.
rp_build_plans() {
    local name=$1 file=$2 sites own article
    sites=$(rp_psql "$DATABASE_URL" -c "SELECT quote_literal(coalesce(array_agg(site_id ORDER BY site_id), '{}'))
        FROM user_sites WHERE user_id = 1") || return 1
    if rp_needs_has "$name" "indexes drop"; then
        own=$RP_NAIVE_PAGE_SQL article=$RP_NAIVE_SQL
    else
        own=$RP_OPTIMISED_PAGE_SQL article=$RP_OPTIMISED_SQL
    fi
    own=${own//:SITES/$sites}
    rp_explain "$file" "$own" "$name: its own headline query (first page, user 1's sites)"
    rp_explain "$file.article" "$article" "$name: the article's query of this step"
    cat "$file.article" >>"$file" && rm -f "$file.article"
}

# rp_extra_plans - the article's optimised query with only its two composite indexes, and
# with readings(timestamp) added: the evidence for which index serves the query.
rp_extra_plans() {
    mkdir -p "$RUN/plans"
    rp_psql "$DATABASE_URL" -c "DROP INDEX IF EXISTS readings_timestamp_idx" -f "$APIBENCH_ROOT/sql/indexes_article.sql" \
        -c "ANALYZE devices" -c "ANALYZE readings" || return 1
    rp_explain "$RUN/plans/headline-article-indexes.txt" "$RP_OPTIMISED_SQL" \
        "the article's optimised query, with only the article's two composite indexes"
    rp_psql "$DATABASE_URL" -f "$APIBENCH_ROOT/sql/index_headline.sql" -c "ANALYZE readings" || return 1
    rp_explain "$RUN/plans/headline-timestamp-index.txt" "$RP_OPTIMISED_SQL" \
        "the article's optimised query, with the article's indexes plus readings_timestamp_idx"
}

# ---------------------------------------------------------------- environment

# rp_environment - what the report states about the machine and the software.
rp_environment() {
    rp_info hostname "$(hostname)"
    rp_info cpu_model "$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    rp_info cores "$(nproc)"
    rp_info memory_bytes "$(awk '/^MemTotal:/ { print $2 * 1024 }' /proc/meminfo)"
    rp_info kernel "$(uname -sr)"
    rp_info os "$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")"
    rp_info postgres_version "$(rp_psql "$DATABASE_URL" -c 'SHOW server_version' 2>/dev/null)"
    rp_info redis_version "$(redis-cli -u "$REDIS_URL" INFO server 2>/dev/null | tr -d '\r' | awk -F: '/^redis_version:/ { print $2 }')"
    rp_info git_commit "$(git -C "$APIBENCH_ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$APIBENCH_ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
    rp_info build_type "$(awk -F= '/^CMAKE_BUILD_TYPE:/ { print $2 }' "$BIN/CMakeCache.txt" 2>/dev/null)"
}

# network profiles (--network): net_setup, net_run, net_cap_rate, net_unshape
# shellcheck source=scripts/lib/network.sh
. "$(dirname "${BASH_SOURCE[0]}")/network.sh"
