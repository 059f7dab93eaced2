#!/usr/bin/env bash
# test_compositions.sh - each of the six named builds equals its composition in
# apibench-server (scripts/reproduce --ablation measures compositions, so this is what lets
# its figures stand beside the named builds'). For each build N, apibench-N and
# `apibench-server <N's strategies> --build-label N` run side by side, and must show:
#   - the same `--needs` (indexes, schema, worker, composition), which must be the
#     article's composition of N as written below;
#   - the same build label in /healthz and in /metrics' apibench_build_info;
#   - on a fixed request list, run twice (cold, then from the caches of 03 on), the same
#     status, the same body and the same statement count (apibench_db_queries_total) per
#     request. Each server has a cache scope of its own, and the two get each request in
#     turn, so cache expiry cannot part them. A queue build's outbox relay counts its
#     first pass in the same counter, so the comparison starts after that pass.
# Database apibench_t_compositions, ports 18381-18392.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api_common.sh"

api_setup apibench_t_compositions
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$T_DATABASE_URL" -f "$SOURCE_DIR/sql/async.sql" >/dev/null ||
    fail "cannot apply sql/async.sql"
BASE_URL=$APP_URL

# The article's steps, one strategy changed at each (DESIGN.md).
declare -A COMPOSITION=(
    [01-baseline]="connections=per-request queries=naive cache=none encoder=identity jobs=inline"
    [02-indexes]="connections=per-request queries=optimised cache=none encoder=identity jobs=inline"
    [03-cache]="connections=per-request queries=optimised cache=tiered encoder=identity jobs=inline"
    [04-pool]="connections=pool queries=optimised cache=tiered encoder=identity jobs=inline"
    [05-gzip]="connections=pool queries=optimised cache=tiered encoder=gzip jobs=inline"
    [06-async]="connections=pool queries=optimised cache=tiered encoder=gzip jobs=queue"
)

DEV=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT max(device_id) FROM readings")
# The fixed request list: "KEY_USER PATH"; the headline's second page follows the first's
# cursor, so it is added when the first page is fetched.
REQUESTS=(
    "1 /api/readings/latest" "1 /api/readings/latest?limit=7" "5 /api/readings/latest"
    "1 /api/devices/$DEV" "1 /api/devices/$DEV/readings?limit=20"
    "5 /api/devices/$DEV/readings?hours=6&limit=500" "1 /api/devices/99999999"
    "1 /api/devices/abc" "1 /api/readings/latest?cursor=bogus" "0 /api/readings/latest"
)

# fetch PORT PATH KEY OUT - GET, decoded body in OUT; echoes "status statements".
fetch() {
    local port=$1 path=$2 key=$3 out=$4 q0 q1 st
    q0=$(metric "$port" apibench_db_queries_total)
    st=$(curl -s --compressed -o "$out" -w '%{http_code}' --max-time 60 -H "X-API-Key: $key" \
        -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port$path") || st=000
    q1=$(metric "$port" apibench_db_queries_total)
    echo "$st $((q1 - q0))"
}

# compare_pair NAME PORT_A PORT_B - the request list twice on both servers.
compare_pair() {
    local name=$1 a=$2 b=$3 round line user path key ra rb cursor n=0
    for round in cold warm; do
        local list=("${REQUESTS[@]}")
        for ((i = 0; i < ${#list[@]}; i++)); do
            line=${list[$i]} user=${line%% *} path=${line#* }
            key=${KEY[$user]:-ak_not_a_key}
            ra=$(fetch "$a" "$path" "$key" "$API_TMP/a")
            rb=$(fetch "$b" "$path" "$key" "$API_TMP/b")
            [ "$ra" = "$rb" ] || fail "$name, $round, $path: named build gave status/statements $ra, composition $rb"
            cmp -s "$API_TMP/a" "$API_TMP/b" || fail "$name, $round, $path: bodies differ"
            if [ "$path" = /api/readings/latest ] && [ "$user" = 1 ]; then
                cursor=$(jq -r '.next_cursor // empty' "$API_TMP/a")
                [ -n "$cursor" ] && list+=("1 /api/readings/latest?cursor=$cursor")
            fi
            n=$((n + 1))
        done
    done
    COMPARED=$n
}

port=18381
for name in 01-baseline 02-indexes 03-cache 04-pool 05-gzip 06-async; do
    want=${COMPOSITION[$name]}
    flags=()
    for kv in $want; do flags+=("--${kv%%=*}" "${kv#*=}"); done
    server=$(require_bin apibench-server)
    named_needs=$("$(require_bin "apibench-$name")" --needs)
    comp_needs=$("$server" "${flags[@]}" --build-label "$name" --needs)
    check '[ "$named_needs" = "$comp_needs" ]' "$name: --needs differ: named [$named_needs], composed [$comp_needs]"
    check 'grep -qx "composition $want" <<<"$named_needs"' "$name's composition is $want"

    APP_URL="${BASE_URL}_${name}_named"
    start_build "$name" "$port"
    APP_URL="${BASE_URL}_${name}_composed"
    start_build server $((port + 1)) "${flags[@]}" --build-label "$name"
    for p in "$port" $((port + 1)); do
        label=$(curl -s "http://127.0.0.1:$p/healthz" | jq -r .build)
        check '[ "$label" = "$name" ]' "/healthz on port $p names build $name, got $label"
        info=$(curl -s "http://127.0.0.1:$p/metrics" | grep '^apibench_build_info{')
        check '[ "$info" = "apibench_build_info{build=\"$name\"} 1" ]' "/metrics on port $p labels $name: $info"
    done
    # The queue's outbox relay makes one pass about a second after start, counted in the
    # same statement counter: wait for it (apibench_jobs_outbox_rows appears) on both.
    if grep -qx worker <<<"$named_needs"; then
        for p in "$port" $((port + 1)); do
            for ((t = 0; t < 100; t++)); do
                curl -s "http://127.0.0.1:$p/metrics" | grep -q '^apibench_jobs_outbox_rows ' && break
                sleep 0.1
            done
            check '[ "$t" -lt 100 ]' "the outbox relay of port $p made its first pass within 10 s"
        done
    fi
    compare_pair "$name" "$port" $((port + 1))
    note "$name: $COMPARED requests, named and composed alike (status, body, statements)"
    kill_tracked
    port=$((port + 2))
done

# The flags are checked, not guessed at.
server=$(require_bin apibench-server)
for bad in "--cache lru" "--jobs" "--build-label a/b" "--queries=NAIVE"; do
    # shellcheck disable=SC2086
    if "$server" $bad --needs >/dev/null 2>"$API_TMP/err"; then
        fail "apibench-server $bad was accepted"
    fi
    check 'grep -q "apibench-server: " "$API_TMP/err"' "apibench-server $bad says why: $(cat "$API_TMP/err")"
done
note "all six named builds equal their compositions"
