# scripts/lib/ablation.sh - scripts/reproduce --ablation: which of the five optimisations
# matters, and whether its effect depends on the others. Besides 01-baseline and
# 06-async it measures ten compositions of build/apibench-server:
#   06-minus-X  the final build without optimisation X (leave-one-out: X's effect there)
#   01-plus-X   the baseline with X alone (add-one: X's effect alone)
# for X in indexes (optimised queries with the build indexes), cache, pool, gzip, queue.
# A label only names a composition: what the database and the run need (indexes, the
# outbox table, the worker) comes from the server's own `--needs`, as for the named builds
# (rp_apply_sql, rp_start_build). The report matches builds by their composition
# (harness/report_ablation.c). Source after scripts/lib/reproduce.sh; defines functions only.

ABLATION_OPTS=(indexes cache pool gzip queue)

# ablation_flag OPT on|off - the apibench-server option and value (one per line) that turn
# optimisation OPT on or off.
ablation_flag() {
    case "$1:$2" in
        indexes:on) printf '%s\n' --queries optimised ;;
        indexes:off) printf '%s\n' --queries naive ;;
        cache:on) printf '%s\n' --cache tiered ;;
        cache:off) printf '%s\n' --cache none ;;
        pool:on) printf '%s\n' --connections pool ;;
        pool:off) printf '%s\n' --connections per-request ;;
        gzip:on) printf '%s\n' --encoder gzip ;;
        gzip:off) printf '%s\n' --encoder identity ;;
        queue:on) printf '%s\n' --jobs queue ;;
        queue:off) printf '%s\n' --jobs inline ;;
        *) return 1 ;;
    esac
}

# ablation_server_cmd LABEL - for a composition label (06-minus-X, 01-plus-X), prints the
# command that starts it, one word a line: apibench-server, its five strategy flags and
# --build-label LABEL. Returns 1 (printing nothing) for any other name.
ablation_server_cmd() {
    local label=$1 base opt o state
    case "$label" in
        06-minus-*) base=on opt=${label#06-minus-} ;;
        01-plus-*) base=off opt=${label#01-plus-} ;;
        *) return 1 ;;
    esac
    [[ " ${ABLATION_OPTS[*]} " == *" $opt "* ]] || return 1
    echo "$BIN/apibench-server"
    for o in "${ABLATION_OPTS[@]}"; do
        state=$base
        if [ "$o" = "$opt" ]; then
            [ "$base" = on ] && state=off || state=on
        fi
        ablation_flag "$o" "$state"
    done
    printf '%s\n' --build-label "$label"
}

# ablation_builds - the ablation's builds in the order they are measured: 01-baseline first
# (the common rate is calibrated on it), 06-async before the 06-minus-* compositions (the
# report's article table takes the first 06 build), and grouped by index state so that the
# indexes are created and dropped twice, not once per build: naive queries, then
# optimised, then 06-minus-indexes.
ablation_builds() {
    local o
    echo 01-baseline
    for o in cache pool gzip queue; do echo "01-plus-$o"; done
    echo 06-async
    for o in cache pool gzip queue; do echo "06-minus-$o"; done
    echo 01-plus-indexes
    echo 06-minus-indexes
}

# ablation_names WANTED BUILD - true when WANTED (from --builds) names BUILD: its full name,
# or 01 / 06 for 01-baseline / 06-async.
ablation_names() {
    [ "$1" = "$2" ] || { [ "$1" = "${2:0:2}" ] && [[ "$2" != *-plus-* && "$2" != *-minus-* ]]; }
}

# ablation_select [LIST] - the builds to measure: all of ablation_builds, or those named in
# the comma-separated LIST, kept in the ablation's order. Dies naming a name that is not
# one of them.
ablation_select() {
    local all wanted w b found
    mapfile -t all < <(ablation_builds)
    [ -n "${1:-}" ] || { printf '%s\n' "${all[@]}"; return 0; }
    IFS=, read -r -a wanted <<<"$1"
    for w in "${wanted[@]}"; do
        found=0
        for b in "${all[@]}"; do
            ablation_names "$w" "$b" && found=1
        done
        [ "$found" -eq 1 ] || ab_die "--ablation --builds: unknown build '$w' (expected some of: ${all[*]})"
    done
    for b in "${all[@]}"; do
        for w in "${wanted[@]}"; do
            if ablation_names "$w" "$b"; then
                echo "$b"
                break
            fi
        done
    done
}
