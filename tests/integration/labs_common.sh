# labs_common.sh - shared by test_labs_reference.sh and test_labs_scaffold.sh: one seeded
# database (apibench_t_labs_<kind>, scale 1), and lab_expect NN KIND running
# `apibench lab check NN` (servers on ports 26341-26343) and judging its verdict.
# shellcheck shell=bash
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# labs_setup KIND - the database and a scratch folder ($LABS_TMP).
labs_setup() {
    apibench_env
    require_bin apibench
    LABS_DB=apibench_t_labs_$1
    seeded_db "$LABS_DB" 1
    LABS_TMP=$(mktemp -d "/tmp/apibench-test-labs-$1.XXXXXX")
    on_exit "rm -rf '$LABS_TMP'"
}

# lab_expect NN reference|scaffold - reference: exit 0 and verdict "pass"; scaffold: exit 1
# and "not fast enough" or "incorrect" (never a build error or no verdict at all).
lab_expect() {
    local nn=$1 who=$2 lab rc start json v flags
    lab=$(basename "$SOURCE_DIR"/workshop/labs/"$nn"-*)
    flags=(--student "$who" --results "$LABS_TMP" --database-url "$T_DATABASE_URL" --port-base 26340)
    [ "$who" = reference ] && flags+=(--reference)
    start=$SECONDS rc=0
    APP_DATABASE_URL=$T_APP_DATABASE_URL WORKER_DATABASE_URL=$T_WORKER_DATABASE_URL \
        "$BUILD_DIR/apibench" lab check "$nn" "${flags[@]}" >"$LABS_TMP/$nn.$who.log" 2>&1 || rc=$?
    note "lab $nn, $who: exit $rc in $((SECONDS - start)) s"
    sed -n '/^speed-up\|^Mann-Whitney\|^verdict/p' "$LABS_TMP/$nn.$who.log"
    json=$LABS_TMP/$who/$lab.json
    if [ ! -s "$json" ]; then
        tail -n 20 "$LABS_TMP/$nn.$who.log"
        fail "lab $nn ($who): no results JSON (exit $rc): the check did not reach a verdict"
    fi
    v=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["lab"] == sys.argv[2]; print(r["verdict"])' "$json" "$lab") ||
        fail "lab $nn ($who): $json does not name the lab $lab"
    if [ "$who" = reference ]; then
        [ "$rc" = 0 ] && [ "$v" = pass ] ||
            { tail -n 20 "$LABS_TMP/$nn.$who.log"; fail "lab $nn with the reference strategy: '$v' (exit $rc), not pass"; }
    else
        { [ "$v" = "not fast enough" ] || [ "$v" = incorrect ]; } && [ "$rc" = 1 ] ||
            { tail -n 20 "$LABS_TMP/$nn.$who.log"; fail "lab $nn's scaffold: '$v' (exit $rc), not 'not fast enough' or 'incorrect'"; }
    fi
}

# labs_copies_gone - the checks dropped their database copies.
labs_copies_gone() {
    local left
    left=$(admin_psql -Atc "SELECT count(*) FROM pg_database WHERE datname LIKE '${LABS_DB}_lab%'")
    check "[ '$left' = 0 ]" "the checks dropped their database copies"
}
