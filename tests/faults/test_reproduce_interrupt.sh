#!/usr/bin/env bash
# test_reproduce_interrupt.sh - scripts/reproduce --quick interrupted in its phases, and a
# build killed with SIGKILL mid-run (issue 11, part 4). Each case starts a run in a process
# group of its own, waits for a phase by watching the run's output and processes (no fixed
# sleeps), then signals it: SIGINT to the whole group as Ctrl-C does, or SIGTERM to the
# script alone as a supervisor does. Cases:
#   1. seeding (scale 5, a fresh database)                      Ctrl-C
#   2. the generator's capacity search against nginx            SIGTERM
#   3. calibration of the common rate on 01-baseline            Ctrl-C
#   4. 02-indexes's load at the common rate                     SIGTERM
#   5. 04-pgbouncer (PgBouncer up) at the article's load        Ctrl-C
#   6. 02-indexes killed with SIGKILL during its load; the run goes on to 03-cache;
#      then Ctrl-C while gnuplot draws the report (a gnuplot that pauses first)
# After each: exit 130; no process of the run left (by the APIBENCH_REPRODUCE_RUN marker
# in /proc/*/environ, by process group, by the run's folder on command lines) and no port
# of it open; run.info says partial=1 and which signal and phase, summary.json and
# report.md say partial; what was being measured is marked (the build "interrupted", the
# generator's own results "partial"); Postgres, Redis and the SMTP sink still answer, and
# no server connection is left in Postgres. Case 6 also: the report says 02-indexes is
# dead, killed by SIGKILL, with its last log lines, and 03-cache was measured.
# Prints how long each run took to stop after its signal.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

apibench_env
DB=apibench_t_reproduce_interrupt
fresh_db "$DB" >/dev/null
on_exit "drop_db $DB"

tmp=$(mktemp -d /tmp/apibench-reproduce-interrupt.XXXXXX)
on_exit "rm -rf '$tmp'"
chmod 755 "$tmp"   # run as root, PgBouncer runs as postgres and reads its files in there
PORT_BASE=18700 PGB_PORT=18797
RUN_PORTS=(18701 18702 18703 18704 18705 18706 18790 "$PGB_PORT")
STOP_BOUND_S=40   # a stop takes seconds; past this the test fails
for p in "${RUN_PORTS[@]}"; do
    ab_tcp_open 127.0.0.1 "$p" && fail "port $p is in use before the test"
done

# A gnuplot that pauses on its first call (the report is then interrupted while it draws)
# and is the real one afterwards (the partial report draws its plots).
mkdir -p "$tmp/slow-gnuplot"
cat >"$tmp/slow-gnuplot/gnuplot" <<'EOF'
#!/bin/sh
if mkdir "$(dirname "$0")/started" 2>/dev/null; then
    exec /usr/bin/gnuplot -e 'pause 60'
fi
exec /usr/bin/gnuplot "$@"
EOF
chmod +x "$tmp/slow-gnuplot/gnuplot"

# run_pids RUN - pids of live (not zombie) processes that carry RUN's marker.
run_pids() {
    local f pid
    for f in $(grep -lzxF "APIBENCH_REPRODUCE_RUN=$1" /proc/[0-9]*/environ 2>/dev/null); do
        pid=${f#/proc/} pid=${pid%/environ}
        [ "$pid" = "$BASHPID" ] && continue
        ab_pid_alive "$pid" && echo "$pid"
    done
    return 0
}
# Whatever happens to the test, nothing of its runs survives it.
kill_leftovers() {
    local d
    for d in "$tmp"/case*; do
        [ -d "$d" ] || continue
        # shellcheck disable=SC2046
        kill -KILL $(run_pids "$d") 2>/dev/null || true
    done
}
on_exit kill_leftovers

# start_run NAME [ENV=VALUE...] -- ARGS... - scripts/reproduce --quick --out $tmp/NAME ARGS
# in a process group of its own (job control: SIGINT is not ignored in it, as after
# Ctrl-C in a terminal). Sets RUN, RUN_PID, RUN_LOG.
start_run() {
    local envs=()
    RUN=$tmp/$1 RUN_LOG=$tmp/$1.log
    shift
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    set -m
    env "${envs[@]}" DATABASE_URL="$T_DATABASE_URL" APP_DATABASE_URL="$T_APP_DATABASE_URL" \
        WORKER_DATABASE_URL="$T_WORKER_DATABASE_URL" APIBENCH_BUILD_DIR="$BUILD_DIR" \
        APIBENCH_PORT_BASE=$PORT_BASE APIBENCH_PGBOUNCER_PORT=$PGB_PORT \
        "$SOURCE_DIR/scripts/reproduce" --quick --out "$RUN" "$@" >"$RUN_LOG" 2>&1 &
    RUN_PID=$!
    set +m
    track_pid "$RUN_PID"
    note "$(basename "$RUN"): scripts/reproduce --quick $* (pid $RUN_PID)"
}

# wait_for WHAT CONDITION [TIMEOUT_S] - polls CONDITION (a command line, eval'd) every 0.1 s
# until it holds; fails if the run ends first or after TIMEOUT_S (150).
wait_for() {
    local what=$1 cond=$2 i
    for ((i = 0; i < ${3:-150} * 10; i++)); do
        eval "$cond" && return 0
        if ! ab_pid_alive "$RUN_PID"; then
            tail -n 20 "$RUN_LOG" >&2
            fail "$(basename "$RUN"): the run ended before $what"
        fi
        sleep 0.1
    done
    tail -n 20 "$RUN_LOG" >&2
    fail "$(basename "$RUN"): no $what within ${3:-150} s"
}

# gen_running PATTERN - true while a process of this run has PATTERN on its command line.
gen_running() { pgrep -f -- "$1" >/dev/null; }

# interrupt INT|TERM - Ctrl-C (SIGINT to the run's process group) or SIGTERM to the script;
# waits for it to exit (within STOP_BOUND_S) and sets RUN_RC and STOP_S.
interrupt() {
    local t0 i
    t0=$(date +%s.%N)
    if [ "$1" = INT ]; then kill -INT -- "-$RUN_PID"; else kill -TERM "$RUN_PID"; fi
    for ((i = 0; i < STOP_BOUND_S * 10; i++)); do
        ab_pid_alive "$RUN_PID" || break
        sleep 0.1
    done
    ab_pid_alive "$RUN_PID" && fail "$(basename "$RUN"): still running ${STOP_BOUND_S} s after SIG$1"
    RUN_RC=0
    wait "$RUN_PID" || RUN_RC=$?
    STOP_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}

# json FILE EXPR - a field of a JSON file (EXPR on `d`), empty when absent.
json() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print("" if v is None else v)' "$1" "$2" 2>/dev/null
}

# check_after SIG PHASE - what every interrupted run must leave: exit 130, nothing running,
# ports closed, results marked partial (naming SIG and PHASE), services usable.
check_after() {
    local sig=$1 phase=$2 name left p n i
    name=$(basename "$RUN")
    note "$name: exit $RUN_RC, stopped $STOP_S s after SIG$sig"
    check '[ "$RUN_RC" = 130 ]' "$name: exit status 130 after SIG$sig, got $RUN_RC (log: $(tail -n 3 "$RUN_LOG" | tr '\n' ' '))"
    left=$(run_pids "$RUN")
    check '[ -z "$left" ]' "$name: processes of the run left: $(for p in $left; do ps -o pid=,args= -p "$p"; done)"
    left=$(ps -e -o pgid=,stat=,pid=,args= | awk -v g="$RUN_PID" '$1 == g && $2 !~ /^Z/')
    check '[ -z "$left" ]' "$name: processes left in the run's process group: $left"
    left=$(pgrep -af -- "$RUN" || true)
    check '[ -z "$left" ]' "$name: processes with the run's folder on their command line: $left"
    for p in "${RUN_PORTS[@]}"; do
        check '! ab_tcp_open 127.0.0.1 "$p"' "$name: port $p still open"
    done
    check 'grep -qx "partial=1" "$RUN/run.info"' "$name: run.info says partial=1"
    check 'grep -qxF "interrupted=SIG$sig during $phase" "$RUN/run.info"' \
        "$name: run.info names SIG$sig during $phase, has: $(grep '^interrupted=' "$RUN/run.info")"
    check '[ "$(json "$RUN/summary.json" "d[\"run\"][\"partial\"]")" = True ]' "$name: summary.json says partial"
    check 'grep -q "PARTIAL RUN.*Interrupted by SIG$sig during" "$RUN/report.md"' "$name: report.md says partial and why"
    # services: still answering, and no connection of the run's servers left in Postgres
    check '"$PSQL" -X -q -A -t "$T_DATABASE_URL" -c "SELECT 1" >/dev/null' "$name: Postgres answers"
    check '[ "$(redis-cli -u "$REDIS_URL" PING)" = PONG ]' "$name: Redis answers"
    check 'ab_tcp_open 127.0.0.1 "${SMTP_URL##*:}"' "$name: the SMTP sink accepts connections"
    for ((i = 0; i < 50; i++)); do
        n=$("$PSQL" -X -q -A -t "$T_DATABASE_URL" -c "SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND usename IN ('apibench_app', 'apibench_worker')")
        [ "$n" = 0 ] && break
        sleep 0.1
    done
    check '[ "$n" = 0 ]' "$name: $n connections of the servers' roles still in Postgres 5 s after the stop"
}

# check_build_interrupted NAME PHASE - the build being measured is marked interrupted.
check_build_interrupted() {
    local build=$1 phase=$2   # (check evals its condition with its own $1 and $2)
    check 'grep -qxF "interrupted: during $phase" "$RUN/builds/$build/status"' \
        "$(basename "$RUN"): builds/$build/status says interrupted during $phase, has: $(cat "$RUN/builds/$build/status" 2>/dev/null)"
    check '[ "$(build_status "$build")" = interrupted ]' \
        "$(basename "$RUN"): summary.json gives $build the status interrupted"
}

# build_status NAME - the status summary.json gives build NAME.
build_status() {
    json "$RUN/summary.json" "[b['status'] for b in d['builds'] if b['build'] == '$1'][0]"
}

# ---- 1. seeding, Ctrl-C
start_run case1-seed -- --builds 02 --rate 4 --scale 5
wait_for "the seeding" 'grep -q "generating data" "$RUN_LOG" && gen_running "apibench seed --scale 5"'
interrupt INT
check_after INT seed

# ---- 2. the generator's capacity search against nginx, SIGTERM to the script
start_run case2-ceiling -- --builds 02 --rate 4
wait_for "the generator's capacity search" \
    'gen_running "apibench capacity --target http://127.0.0.1:$((PORT_BASE + 90))" && ab_tcp_open 127.0.0.1 $((PORT_BASE + 90))'
interrupt TERM
check_after TERM "the load generator's ceiling and floor (against nginx)"
check_build_interrupted 02-indexes "the load generator's ceiling and floor (against nginx)"
check '[ "$(json "$RUN/generator/ceiling-identity/capacity.json" "d[\"partial\"]")" = True ]' \
    "case2: the interrupted search's capacity.json is marked partial"

# ---- 3. calibration on 01-baseline, Ctrl-C
start_run case3-calibration -- --builds 01
wait_for "the calibration" 'gen_running "apibench run .*--out $RUN/calibration/sweep/"'
interrupt INT
check_after INT "01-baseline: calibration of the common rate"
check_build_interrupted 01-baseline "01-baseline: calibration of the common rate"
check 'grep -lq "\"partial\": *true" "$RUN"/calibration/sweep/rate-*.json' \
    "case3: the interrupted calibration step wrote its results, marked partial"

# ---- 4. 02-indexes's load at the common rate, SIGTERM to the script
start_run case4-load -- --builds 02 --rate 4
wait_for "02-indexes's load" 'gen_running "apibench run .*--out $RUN/builds/02-indexes/repeat-1/load( |$)"'
interrupt TERM
check_after TERM "02-indexes: load at the common rate"
check_build_interrupted 02-indexes "02-indexes: load at the common rate"
check '[ "$(json "$RUN/builds/02-indexes/repeat-1/load.json" "d[\"partial\"]")" = True ]' \
    "case4: the interrupted load's load.json is marked partial"

# ---- 5. 04-pgbouncer at the article's load (PgBouncer up), Ctrl-C
start_run case5-pgbouncer -- --builds 04-pgbouncer --rate 4
wait_for "04-pgbouncer's article load" \
    'gen_running "apibench run .*--out $RUN/builds/04-pgbouncer/repeat-1/article( |$)" && gen_running "pgbouncer $RUN/"'
interrupt INT
check_after INT "04-pgbouncer: the article's load"
check_build_interrupted 04-pgbouncer "04-pgbouncer: the article's load"

# ---- 6. 02-indexes killed with SIGKILL mid-run; then Ctrl-C during the report
start_run case6-dead PATH="$tmp/slow-gnuplot:$PATH" -- --builds 02,03 --rate 4
wait_for "02-indexes's load" 'gen_running "apibench run .*--out $RUN/builds/02-indexes/repeat-1/load( |$)"'
victim=$(pgrep -f "apibench-02-indexes --port $((PORT_BASE + 2))")
check '[ -n "$victim" ]' "case6: 02-indexes's server is running"
kill -KILL "$victim"
note "case6: killed 02-indexes (pid $victim) with SIGKILL during its load"
wait_for "the report's gnuplot" '[ -d "$tmp/slow-gnuplot/started" ] && gen_running "gnuplot -e pause"' 240
interrupt INT
check_after INT report
status=$(cat "$RUN/builds/02-indexes/status")
check '[[ "$status" == "dead: instance 0 (pid $victim) killed by signal 9 (SIGKILL) during the load at the common rate" ]]' \
    "case6: builds/02-indexes/status says dead, killed by SIGKILL, has: $status"
check 'grep -q "listening on" "$RUN/builds/02-indexes/last_log.txt"' "case6: last_log.txt holds the server's last log lines"
check '[ "$(build_status 02-indexes)" = dead ]' \
    "case6: summary.json gives 02-indexes the status dead"
check 'grep -qF -- "- 02-indexes: dead: instance 0 (pid $victim) killed by signal 9 (SIGKILL)" "$RUN/report.md"' \
    "case6: report.md lists 02-indexes as dead"
check 'grep -A 3 "Its last log lines:" "$RUN/report.md" | grep -q "apibench-02-indexes: listening on"' \
    "case6: report.md shows 02-indexes's last log lines"
check 'grep -qx ok "$RUN/builds/03-cache/status"' "case6: the run went on and measured 03-cache"
check '[ "$(build_status 03-cache)" = ok ]' \
    "case6: summary.json gives 03-cache the status ok"
note "ok: six interrupted runs and one dead build, nothing left running"
