#!/usr/bin/env bash
# scripts/bench_ingest.sh - prints the ingest figures of issue 10 (never asserts them).
#
#  1. Locked against lock-free ingest. BUILD (06-async) runs twice against one database:
#     with --ingest-lock (every ingest takes one advisory lock first, as when readings were
#     numbered max(id) + n) and without (ids from the readings.id sequence). Closed loop,
#     1, 2, 4 and 8 clients, each sending 100-reading batches back to back into devices
#     spread over all of them (the ingest route of harness/mixes/ingest.json alone). Per
#     row: requests/s, readings/s, p50/p99, and the CPU used over the measured window by
#     the server, PostgreSQL (the whole instance, so other users of it count too), the load
#     generator, and the machine (every core; 100% = all busy). Then the ratio at 8 clients.
#  2. Ingest capacity for harness/mixes/ingest.json (80% batches, 20% headline reads), both
#     designs: `apibench capacity` brackets the highest open-loop rate that holds the SLO
#     (p99 < 500 ms, < 1% errors); readings/s = the bracket x ingest share x batch.
#  3. The headline cache's hit rate as the ingest rate rises, for 03-cache .. 06-async
#     (lock-free): headline reads at a fixed READ_RATE, ingests at each of INGEST_RATES,
#     open loop. The headline hit rate is 1 - (headline page queries PostgreSQL ran, from
#     pg_stat_statements) / (headline requests answered); "all lookups" is the server's
#     /metrics apibench_cache_lookups_total (hits at L1 or L2 / lookups), which also counts
#     the API-key lookups every request makes. Table, and OUT/plots/ingest_hit_rate.png
#     (scripts/plot_ingest_hit_rate.gp).
#
# Usage: scripts/bench_ingest.sh [--quick] [BUILD_DIR]   (default build/)
#   --quick   scale 1, short phases, fewer points (a few minutes; checks that it works)
# Environment: SCALE (10), BUILD (06-async), DURATION/WARMUP (part 1: 15/3 s), ROUNDS
#   (part 1's rows repeated, alternating the designs' order: 1),
#   READ_RATE (50 req/s), INGEST_RATES ("0.5 1 2 5 10 20 50" req/s of 100 readings),
#   POINT_S/POINT_WARMUP (part 3: 20/5 s), SERVER_CPUS and GEN_CPUS (taskset lists for the
#   servers and the load generator; default: unpinned), OUT (results/ingest-TIMESTAMP).
# Needs the private services (scripts/services start), jq and gnuplot. Database
# apibench_b_ingest_sSCALE (seeded at SCALE, seed 1, when missing; readings added by an
# earlier run are deleted first; readings is vacuumed between the parts, not by autovacuum
# while a part runs). Ports 18371-18376.
set -euo pipefail
AB_PROG=bench_ingest
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$APIBENCH_ROOT/scripts/lib/reproduce.sh" # rp_proc_ticks, rp_postgres_ticks, rp_app_role

QUICK=0
[ "${1:-}" = --quick ] && { QUICK=1; shift; }
BUILD_DIR=${1:-$APIBENCH_ROOT/build}
if [ $QUICK = 1 ]; then
    SCALE=${SCALE:-1} DURATION=${DURATION:-6} WARMUP=${WARMUP:-2}
    INGEST_RATES=${INGEST_RATES:-"1 5 20"} POINT_S=${POINT_S:-8} POINT_WARMUP=${POINT_WARMUP:-3}
    CAPACITY_OPTS=(--tolerance 1.3 --max-probes 8 --min-requests 300 --min-duration 4s --max-duration 10s)
else
    SCALE=${SCALE:-10} DURATION=${DURATION:-15} WARMUP=${WARMUP:-3}
    INGEST_RATES=${INGEST_RATES:-"0.5 1 2 5 10 20 50"} POINT_S=${POINT_S:-20} POINT_WARMUP=${POINT_WARMUP:-5}
    CAPACITY_OPTS=(--tolerance 1.1 --max-probes 14)
fi
BUILD=${BUILD:-06-async}
ROUNDS=${ROUNDS:-1}
READ_RATE=${READ_RATE:-50}
BATCH=100
DB=apibench_b_ingest_s$SCALE
OUT=${OUT:-$APIBENCH_ROOT/results/ingest-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT/plots"
TMP=$(mktemp -d /tmp/apibench-bench-ingest.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
    [ -n "${OWNER_URL:-}" ] && "$PSQL" -X -q "$OWNER_URL" -c "ALTER TABLE readings RESET (autovacuum_enabled)" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

for cmd in jq gnuplot curl; do command -v $cmd >/dev/null || ab_die "missing $cmd"; done
for b in apibench "apibench-$BUILD" apibench-03-cache apibench-04-pool apibench-05-gzip apibench-06-async; do
    [ -x "$BUILD_DIR/$b" ] || ab_die "missing $BUILD_DIR/$b (build first)"
done
eval "$("$APIBENCH_ROOT/scripts/services" env)"
PSQL=$(ab_psql)
OWNER_URL=$(ab_url_with_db "$DATABASE_URL" "$DB")
APP_URL=$(ab_url_with_db "${APP_DATABASE_URL:-$DATABASE_URL}" "$DB")
q() { "$PSQL" -X -At -v ON_ERROR_STOP=1 "$OWNER_URL" -c "$1"; }
# taskset prefixes (empty: unpinned); taskset execs, so $! is the server's own pid
PIN_SERVER=() PIN_GEN=()
[ -n "${SERVER_CPUS:-}" ] && PIN_SERVER=(taskset -c "$SERVER_CPUS")
[ -n "${GEN_CPUS:-}" ] && PIN_GEN=(taskset -c "$GEN_CPUS")

# ---- the database: seed 1 at SCALE with the 02+ indexes; what earlier runs added goes
if ! q "SELECT complete FROM seed_info" 2>/dev/null | grep -qx t; then
    ab_say "seeding $DB at scale $SCALE, seed 1"
    "$PSQL" -X -q "$(ab_url_with_db "$DATABASE_URL" postgres)" -c "CREATE DATABASE $DB OWNER apibench" 2>/dev/null || true
fi
"$BUILD_DIR/apibench" seed --scale "$SCALE" --seed 1 --database-url "$OWNER_URL" --quiet >"$TMP/seed.log" 2>&1 ||
    { cat "$TMP/seed.log" >&2; ab_die "seeding $DB failed"; }
SEEDED=$((500000 * SCALE))
q "DELETE FROM readings WHERE id > $SEEDED" >/dev/null
# No autovacuum of readings while we measure (the millions of inserted rows would start one
# at a random point, inside one design's rows); we vacuum between the parts instead.
PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -q -v ON_ERROR_STOP=1 "$OWNER_URL" \
    -f "$APIBENCH_ROOT/sql/indexes_article.sql" -f "$APIBENCH_ROOT/sql/index_headline.sql" \
    -f "$APIBENCH_ROOT/sql/async.sql" -c "ALTER TABLE readings SET (autovacuum_enabled = false)" \
    -c "VACUUM ANALYZE readings" >/dev/null
vacuum() { q "VACUUM ANALYZE readings" >/dev/null; }
"$BUILD_DIR/apibench" freshen --database-url "$OWNER_URL" >/dev/null

# ---- the mixes: ingest.json for this scale; its ingest route alone for part 1
jq --argjson s "$SCALE" '.dataset_scale = $s | .devices.max = 1000 * $s' \
    "$APIBENCH_ROOT/harness/mixes/ingest.json" >"$OUT/mix.json"
jq '.name = "ingest-only" | .routes |= map(select(.route == "ingest"))' "$OUT/mix.json" >"$TMP/ingest-only.json"
INGEST_SHARE=$(jq '([.routes[] | select(.route == "ingest") | .weight] | add) / ([.routes[].weight] | add)' "$OUT/mix.json")
[ "$(jq '.routes[] | select(.route == "ingest") | .batch' "$OUT/mix.json")" = $BATCH ] ||
    ab_die "harness/mixes/ingest.json: the ingest batch is not $BATCH"

# start NAME PORT LABEL [ARGS...] - starts apibench-NAME (its own cache scope per LABEL)
start() {
    local name=$1 port=$2 label=$3
    shift 3
    "${PIN_SERVER[@]}" "$BUILD_DIR/apibench-$name" --port "$port" \
        --database-url "$APP_URL?fallback_application_name=bench_ingest_${label}_$$" \
        --redis-url "$REDIS_URL" --quiet "$@" >"$TMP/$label.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$label=$!"
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0; sleep 0.1; done
    cat "$TMP/$label.log" >&2
    ab_die "apibench-$name did not start on port $port"
}
stop() { # stop LABEL
    local pid
    pid=$(eval echo "\$PID_$1")
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# CPU accounting over a window: snap FILE PID writes server, postgres, generator (this
# shell's reaped children: the load generator runs in the foreground between two snaps)
# and machine ticks.
snap() {
    local kids
    times >"$TMP/times"
    kids=$(awk 'NR == 2 { n = split($0, f, " "); for (i = 1; i <= n; i++) { split(f[i], p, "m");
        t += p[1] * 60 + p[2] } } END { printf "%.3f", t }' "$TMP/times")
    {
        echo "wall_ns=$(date +%s%N)"
        echo "server_ticks=$(rp_proc_ticks "$2")"
        echo "pg_ticks=$(rp_postgres_ticks)"
        echo "gen_s=$kids"
        awk '/^cpu / { print "busy_ticks=" $2 + $3 + $4 + $7 + $8 + $9; print "total_ticks=" $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
    } >"$1"
}
# cpu_use BEFORE AFTER - "server% postgres% generator% machine%", each of the whole machine
cpu_use() {
    awk -F= -v hz="$(getconf CLK_TCK)" -v cores="$(nproc)" 'FNR == NR { b[$1] = $2; next } { a[$1] = $2 }
        END { wall = (a["wall_ns"] - b["wall_ns"]) / 1e9; cap = wall * cores / 100
              pg = (a["pg_ticks"] == "" ? "-" : sprintf("%.0f", (a["pg_ticks"] - b["pg_ticks"]) / hz / cap))
              printf "%.0f %s %.0f %.0f\n", (a["server_ticks"] - b["server_ticks"]) / hz / cap, pg,
                  (a["gen_s"] - b["gen_s"]) / cap,
                  100 * (a["busy_ticks"] - b["busy_ticks"]) / (a["total_ticks"] - b["total_ticks"]) }' "$1" "$2"
}

# load LABEL URL MIX ARGS... - one apibench run in the foreground; result in TMP/LABEL.json
load() {
    local label=$1 url=$2 mix=$3
    shift 3
    "${PIN_GEN[@]}" "$BUILD_DIR/apibench" run --target "$url" --mix "$mix" --seed 1 --quiet \
        --timeout-ms 30000 --out "$TMP/$label" "$@" >"$TMP/$label.run.log" 2>&1 ||
        ab_say "apibench run $label exited non-zero: $(tail -2 "$TMP/$label.run.log" | tr '\n' ' ')"
    [ -f "$TMP/$label.json" ] || ab_die "apibench run $label wrote no result"
}

echo "== bench_ingest: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
    "scale $SCALE ($SEEDED seeded readings); $BUILD, 100-reading batches; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== where: servers on CPUs ${SERVER_CPUS:-any (unpinned)}, load generator (apibench run) on" \
    "${GEN_CPUS:-any (unpinned)}, PostgreSQL and Redis on any (the shared private instance, unpinned)"

# ---- 1. locked against lock-free, closed loop
start "$BUILD" 18371 seq
start "$BUILD" 18372 locked --ingest-lock
echo
echo "1. ingest only, closed loop, ${WARMUP}s warm-up + ${DURATION}s measured per row, $ROUNDS round(s); CPU % of all $(nproc) cores"
printf '%-9s %7s %9s %10s %9s %9s %6s %7s %9s %6s %8s\n' design clients "req/s" "readings/s" p50_ms p99_ms errors \
    server postgres "gen" machine
flip=0
for ((round = 1; round <= ROUNDS; round++)); do
for clients in 1 2 4 8; do
    order="locked seq"
    flip=$((1 - flip))
    [ $flip = 0 ] && order="seq locked" # alternate, so that drift hits both
    for design in $order; do
        port=18371
        [ $design = locked ] && port=18372
        label=$design.c$clients.r$round
        load "$label.warm" "http://127.0.0.1:$port" "$TMP/ingest-only.json" --mode closed \
            --connections "$clients" --warmup 0 --duration "${WARMUP}s"
        snap "$TMP/$label.before" "$(eval echo "\$PID_$design")"
        load "$label" "http://127.0.0.1:$port" "$TMP/ingest-only.json" --mode closed \
            --connections "$clients" --warmup 0 --duration "${DURATION}s"
        snap "$TMP/$label.after" "$(eval echo "\$PID_$design")"
        read -r srv pg gen mach <<<"$(cpu_use "$TMP/$label.before" "$TMP/$label.after")"
        jq -r --arg d "$design" --argjson c "$clients" --argjson b $BATCH \
            --arg srv "$srv" --arg pg "$pg" --arg gen "$gen" --arg mach "$mach" \
            '((.routes.ingest.count - .routes.ingest.errors) / .measured_s) as $ok |
             [$d, $c, .achieved_rate, $ok * $b, .routes.ingest.service_time.p50_ms,
              .routes.ingest.service_time.p99_ms, .errors.total, $srv, $pg, $gen, $mach] | @tsv' \
            "$TMP/$label.json" | tee -a "$OUT/lock_vs_sequence.tsv" |
            awk -F'\t' '{ printf "%-9s %7d %9.1f %10.0f %9.1f %9.1f %6d %6s%% %8s%% %5s%% %7s%%\n",
                $1 == "seq" ? "sequence" : $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
    done
done
done
# rows are in round order, a locked and a sequence row per client count and round
awk -F'\t' '$2 == 8 { s[$1] += $4; n[$1]++; r[$1, n[$1]] = $4 }
    END { if (!n["locked"] || !n["seq"]) exit
          printf "at 8 clients: sequence %.0f / locked %.0f readings/s = %.2fx", s["seq"] / n["seq"],
              s["locked"] / n["locked"], (s["seq"] / n["seq"]) / (s["locked"] / n["locked"])
          if (n["seq"] > 1) { printf " (mean of %d rounds; per round:", n["seq"]
              for (i = 1; i <= n["seq"]; i++) printf " %.2fx", r["seq", i] / r["locked", i]; printf ")" }
          printf "\n" }' "$OUT/lock_vs_sequence.tsv"

# ---- 2. capacity for the mix, both designs
vacuum
echo
echo "2. ingest capacity for harness/mixes/ingest.json ($(jq -r '[.routes[] | "\(.weight)% \(.route)"] | join(", ")' "$OUT/mix.json")),"
echo "   open loop, SLO p99 < 500 ms and < 1% errors; bracket [holds, fails]"
for design in locked seq; do
    port=18371
    [ $design = locked ] && port=18372
    start_rate=$(awk -F'\t' -v d=$design '$1 == d && $2 == 8 { r = $3 } END { printf "%d", (r > 10 ? r : 10) }' \
        "$OUT/lock_vs_sequence.tsv")
    "${PIN_GEN[@]}" "$BUILD_DIR/apibench" capacity --out "$OUT/capacity-$design" --start "${start_rate:-10}" \
        --target "http://127.0.0.1:$port" --mix "$OUT/mix.json" --seed 1 --connections 128 \
        --timeout-ms 30000 "${CAPACITY_OPTS[@]}" >"$TMP/capacity-$design.log" 2>&1 ||
        ab_say "capacity search for $design ended without a bracket (see $OUT/capacity-$design)"
    jq -r --arg d "$design" --argjson s "$INGEST_SHARE" --argjson b $BATCH \
        '"\($d == "seq" | if . then "sequence" else "locked  " end): [\(.lower), \(.upper)] req/s of the mix = [\(.lower * $s | floor), \(.upper * $s | floor)] ingests/s = [\(.lower * $s * $b | floor), \(.upper * $s * $b | floor)] readings/s (limited by \(.limited_by), \(if .converged then "converged" else "not converged" end))"' \
        "$OUT/capacity-$design/capacity.json" 2>/dev/null || echo "$design: no capacity.json"
done
stop seq
stop locked
vacuum

# ---- 3. headline hit rate against the ingest rate, 03-06
echo
echo "3. cache hit rate vs ingest rate: headline reads at $READ_RATE req/s, ingests (100 readings) at each rate,"
echo "   open loop, ${POINT_WARMUP}s warm-up + ${POINT_S}s measured per point"
# the optimised headline page statement (queries_optimised.c), as the servers' role ran it
PAGE_CALLS="SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
    WHERE r.rolname = '$(rp_app_role)' AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND s.query LIKE 'SELECT r.id, d.id, d.name, d.site_id, s.name%'"
lookups() { # lookups PORT - "l1_hit l1_miss l2_hit" from /metrics
    curl -s "http://127.0.0.1:$1/metrics" | awk '/^apibench_cache_lookups_total/ {
        if ($1 ~ /l1.*"hit"/) h1 = $2; else if ($1 ~ /l1.*"miss"/) m1 = $2; else if ($1 ~ /l2.*"hit"/) h2 = $2 }
        END { print h1 + 0, m1 + 0, h2 + 0 }'
}
printf '%-9s %9s %11s %12s %13s %12s %9s\n' build "ingest/s" "readings/s" "headline/s" "headline hit" "all lookups" errors
port=18373
builds=()
for b in 03-cache 04-pool 05-gzip 06-async; do
    start "$b" $port "hit_${b%%-*}"
    builds+=("$b")
    : >"$OUT/plots/hit_rate_$b.dat"
    for rate in $INGEST_RATES; do
        label=hit.$b.$rate
        jq --argjson r "$READ_RATE" --argjson i "$rate" \
            '.routes |= map(if .route == "ingest" then .weight = $i else .weight = $r end)' \
            "$OUT/mix.json" >"$TMP/$label.mix.json"
        total=$(jq -n "$READ_RATE + $rate")
        load "$label.warm" "http://127.0.0.1:$port" "$TMP/$label.mix.json" --rate "$total" --warmup 0 \
            --duration "${POINT_WARMUP}s"
        read -r h1a m1a h2a <<<"$(lookups $port)"
        pa=$(q "$PAGE_CALLS")
        load "$label" "http://127.0.0.1:$port" "$TMP/$label.mix.json" --rate "$total" --warmup 0 \
            --duration "${POINT_S}s"
        read -r h1b m1b h2b <<<"$(lookups $port)"
        pb=$(q "$PAGE_CALLS")
        jq -r --argjson b $BATCH --arg pages $((pb - pa)) --arg hits $((h1b - h1a + h2b - h2a)) \
            --arg all $((h1b - h1a + m1b - m1a)) --arg build "$b" \
            '((.routes.ingest.count // 0) - (.routes.ingest.errors // 0)) as $ing |
             ((.routes.latest.count // 0) - (.routes.latest.errors // 0)) as $reads |
             [$build, $ing / .measured_s, $ing * $b / .measured_s, $reads / .measured_s,
              (if $reads > 0 then 100 * (1 - ($pages | tonumber) / $reads) else "?" end),
              (if ($all | tonumber) > 0 then 100 * ($hits | tonumber) / ($all | tonumber) else "?" end),
              .errors.total] | @tsv' "$TMP/$label.json" >"$TMP/$label.row"
        awk -F'\t' '{ printf "%-9s %9.2f %11.0f %12.1f %12.1f%% %11.1f%% %9d\n", $1, $2, $3, $4, $5, $6, $7 }' "$TMP/$label.row"
        cut -f2- "$TMP/$label.row" >>"$OUT/plots/hit_rate_$b.dat"
    done
    stop "hit_${b%%-*}"
    port=$((port + 1))
done
gnuplot -e "dir='$APIBENCH_ROOT/scripts'; rundir='$OUT'; builds='${builds[*]}'; read_rate=$READ_RATE" \
    "$APIBENCH_ROOT/scripts/plot_ingest_hit_rate.gp" && echo "plot: $OUT/plots/ingest_hit_rate.png"
echo "results: $OUT; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
