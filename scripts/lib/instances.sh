# scripts/lib/instances.sh - scripts/reproduce --instances K: the K instances of a build
# behind a private nginx as the load balancer, and the capacity against K of 04-pool and
# 06-async. Source it after scripts/lib/reproduce.sh; it defines functions and runs nothing.
#
# The balancer listens on 127.0.0.1:APIBENCH_PORT_BASE+91 (+90 is the nginx of the
# generator's ceiling), runs on the servers' cores (SRV_CPUS) with one worker process, and
# proxies to the instances through an upstream with least_conn, keep-alive connections and
# no access log. The load generator targets it (rp_load_url); /metrics snapshots, verify
# and the Server-Timing sample still reach each instance directly (TARGETS). Every request
# crosses nginx, so its cost is inside the latency and capacity figures; its CPU is in
# "machine CPU busy" and, for the capacity against K, shown on its own.

# rp_instances_init - after option parsing: BALANCE=1 (and BALANCER_URL) when K > 1.
rp_instances_init() {
    BALANCER_PORT=$((${APIBENCH_PORT_BASE:-18100} + 91))
    BALANCE=0 BALANCER_URL=
    if [ "$opt_instances" -gt 1 ]; then
        BALANCE=1 BALANCER_URL=http://127.0.0.1:$BALANCER_PORT
        rp_info balancer "nginx least_conn, upstream keep-alive, access log off, 1 worker, at $BALANCER_URL, cores ${SRV_CPUS:-any (shared)}"
    fi
}

# rp_load_url - where the load goes: the balancer when there is one, else the one target.
rp_load_url() {
    if [ "${BALANCE:-0}" -eq 1 ]; then echo "$BALANCER_URL"; else echo "${TARGETS[0]}"; fi
}

# rp_balancer_start DIR - after rp_start_build started the instances (TARGETS): nginx in
# front of them, its config in DIR/balancer/, its log DIR/server.K.log. Its pid joins
# SERVER_PIDS, so that it stops with the build and its death is the build's. Returns 1 with
# DIR/status written when it does not serve /healthz.
rp_balancer_start() {
    local dir=$1 nginx conf=$1/balancer t servers= u k=${#TARGETS[@]}
    nginx=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$nginx" ] || { echo "failed: nginx is not installed (apt-get install nginx-light)" >"$dir/status"; return 1; }
    ab_tcp_open 127.0.0.1 "$BALANCER_PORT" &&
        { echo "failed: the balancer's port $BALANCER_PORT is in use" >"$dir/status"; return 1; }
    for u in "${TARGETS[@]}"; do servers+="        server ${u#http://};"$'\n'; done
    # keepalive: idle connections to the instances kept per worker; retries off, so that a
    # failed request is counted, not sent again to another instance
    ab_nginx_conf "$conf" "$BALANCER_PORT" "    upstream apibench_instances {
        least_conn;
$servers        keepalive 256;
        keepalive_requests 10000000;
        keepalive_timeout 60s;
    }" "location / { proxy_pass http://apibench_instances; proxy_http_version 1.1;
        proxy_set_header Connection \"\"; proxy_set_header Host \$host;
        proxy_next_upstream off; proxy_read_timeout 120s; client_max_body_size 16m; }"
    "${SRV_ON[@]}" "$nginx" -p "$conf" -e "$dir/server.$k.log" -c "$conf/nginx.conf" -g 'daemon off;' \
        >>"$dir/server.$k.log" 2>&1 &
    SERVER_PIDS+=("$!")
    STARTED_PIDS+=("$!")
    for ((t = 0; t < 50; t++)); do
        curl -fsS -o /dev/null --max-time 2 "$BALANCER_URL/healthz" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "failed: the balancer (nginx) does not answer: $(tail -n 1 "$dir/server.$k.log")" >"$dir/status"
    return 1
}

# rp_scaling_ks - the instance counts of the capacity against K: 1, 2, 4, ... below K, and K.
rp_scaling_ks() {
    local k
    for ((k = 1; k < opt_instances; k *= 2)); do echo "$k"; done
    echo "$opt_instances"
}

# rp_scaling NAME - the capacity of build NAME with k instances behind the balancer, for
# each k of rp_scaling_ks: start, warm-up at the common rate, a capacity search between
# snapshots (the instances' /metrics: cache invalidations sent and received across
# instances; the balancer's CPU ticks), stop. Results in RUN/scaling/NAME/kK/ (status,
# capacity/, metrics.before.prom, metrics.after.prom, balancer.ticks).
rp_scaling() {
    local name=$1 k dir saved=$opt_instances start ceiling b0 b1 nginx_pid
    for k in $(rp_scaling_ks); do
        dir=$RUN/scaling/$name/k$k
        mkdir -p "$dir"
        RP_PHASE="$name: capacity with $k instances behind nginx"
        opt_instances=$k
        if ! rp_apply_sql "$name" >"$dir/sql.log" 2>&1; then
            echo "failed: applying its SQL failed" >"$dir/status"
            continue
        fi
        rp_clear_cache "$APP_DATABASE_URL"
        SERVER_DB_URL=$APP_DATABASE_URL
        if ! rp_start_build "$name" "$dir"; then
            rp_stop_build 2
            rp_log "$name with $k instances: $(cat "$dir/status")"
            continue
        fi
        nginx_pid=${SERVER_PIDS[-1]}
        rp_load "$dir/warmup" "${COMMON_RATE:-$ARTICLE_RATE}" "$WARMUP_S" >/dev/null 2>&1 || true
        start=$(awk -v a="${LAST_LOWER[$name]:-0}" -v r="$ARTICLE_RATE" -v k="$k" -v K="$saved" \
            'BEGIN { s = a * k / K; print (s > r ? s : r) }')
        ceiling=$(rp_ceiling_for "$name")
        rp_snapshot "$dir/snap.before" "$dir/metrics.before.prom"
        b0=$(rp_tree_ticks "$nginx_pid")
        rp_capacity "$dir" "$start" "$ceiling" || rp_log "$name with $k instances: capacity search failed: $(tail -n 1 "$dir/capacity.log")"
        b1=$(rp_tree_ticks "$nginx_pid")
        rp_snapshot "$dir/snap.after" "$dir/metrics.after.prom"
        echo "balancer_ticks=$((b1 - b0))" >"$dir/balancer.ticks"
        if rp_servers_alive; then echo ok >"$dir/status"; else rp_build_dead "$dir" "during the capacity search"; fi
        rp_log "$name with $k instances behind nginx: capacity $(rp_bracket "$dir/capacity/capacity.json")"
        rp_stop_build
        [[ "$name" == 06-* ]] && [ -n "${REDIS_URL:-}" ] && rp_drop_stream
    done
    opt_instances=$saved
}

# rp_scaling_all - rp_scaling for 04-pool and 06-async, those of them this run measures
# (with K > 1 only); run.info lists them and the k values for the report.
rp_scaling_all() {
    local b names=()
    [ "${BALANCE:-0}" -eq 1 ] || return 0
    for b in "${BUILDS[@]}"; do
        case "$b" in 04-pool | 06-async) names+=("$b") ;; esac
    done
    [ ${#names[@]} -gt 0 ] || { rp_log "capacity against K: neither 04-pool nor 06-async is measured"; return 0; }
    rp_info scaling_builds "$(IFS=,; echo "${names[*]}")"
    rp_info scaling_ks "$(rp_scaling_ks | paste -sd,)"
    for b in "${names[@]}"; do
        RP_BUILD=
        rp_scaling "$b"
    done
}

# rp_pgbouncer_mode MODE - checks --pgbouncer MODE. session: the 04-pgbouncer variant as
# before. transaction: refused. The servers prepare their statements once per connection
# (PQprepare); PgBouncer keeps them only from 1.21 on, with max_prepared_statements, and
# Debian 12 ships 1.18, where transaction pooling hands a client a server connection that
# lacks them or already has them. Checked with 04-pool behind PgBouncer 1.18 in
# transaction mode at 200 req/s for 3 s: 185 of 600 requests answered 500 ("prepared
# statement ... already exists"), none directly (docs/RESULTS.md).
rp_pgbouncer_mode() {
    local v
    case "$1" in
        session) return 0 ;;
        transaction)
            v=$(pgbouncer --version 2>/dev/null | awk '/PgBouncer/ { print $2; exit }')
            ab_die "--pgbouncer transaction: refused: the servers' prepared statements do not survive transaction pooling in PgBouncer ${v:-(not installed)}; 1.21+ would need max_prepared_statements, which this project has not been checked with (docs/RESULTS.md). Use --pgbouncer session (the default) or reach Postgres directly" ;;
        *) ab_die "bad --pgbouncer mode '$1': expected session or transaction" ;;
    esac
}
