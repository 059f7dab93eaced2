#!/usr/bin/env bash
# test_labs.sh - the workshop's solutions check (issue 13, part 4). For each lab 02..06:
#   - `apibench lab check NN --reference` (core's strategy swapped in) passes: exit 0 and
#     verdict "pass" in the results JSON;
#   - the untouched scaffold (solution.c as committed) is judged "not fast enough" or
#     "incorrect" (exit 1), never a build error or a check that could not run.
# Database: apibench_t_labs, seeded at scale 1; servers on ports 26341-26343. Each check
# takes 1-2 minutes; LAB_TEST_LABS="02 05" runs some labs only.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
require_bin apibench
seeded_db apibench_t_labs 1
# 01-baseline is measured without the build indexes: the check's copy for it drops them
tmp=$(mktemp -d /tmp/apibench-test-labs.XXXXXX)
on_exit "rm -rf '$tmp'"

# verdict FILE - the verdict a results JSON holds
verdict() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"])' "$1"; }

for nn in ${LAB_TEST_LABS:-02 03 04 05 06}; do
    lab=$(basename "$SOURCE_DIR"/workshop/labs/"$nn"-*)
    for who in reference scaffold; do
        flags=(--student "$who" --results "$tmp" --database-url "$T_DATABASE_URL" --port-base 26340)
        [ "$who" = reference ] && flags+=(--reference)
        start=$SECONDS
        APP_DATABASE_URL=$T_APP_DATABASE_URL WORKER_DATABASE_URL=$T_WORKER_DATABASE_URL \
            "$BUILD_DIR/apibench" lab check "$nn" "${flags[@]}" >"$tmp/$nn.$who.log" 2>&1
        rc=$?
        note "lab $nn, $who: exit $rc in $((SECONDS - start)) s"
        sed -n '/^speed-up\|^verdict/p' "$tmp/$nn.$who.log"
        json=$tmp/$who/$lab.json
        if [ ! -s "$json" ]; then
            tail -n 20 "$tmp/$nn.$who.log"
            fail "lab $nn ($who): no results JSON (exit $rc): the check did not get to a verdict"
        fi
        v=$(verdict "$json")
        if [ "$who" = reference ]; then
            [ "$rc" = 0 ] && [ "$v" = pass ] ||
                { tail -n 20 "$tmp/$nn.$who.log"; fail "lab $nn with the reference strategy: '$v' (exit $rc), not pass"; }
        else
            { [ "$v" = "not fast enough" ] || [ "$v" = incorrect ]; } && [ "$rc" = 1 ] ||
                { tail -n 20 "$tmp/$nn.$who.log"; fail "lab $nn's scaffold: '$v' (exit $rc), not 'not fast enough' or 'incorrect'"; }
        fi
        check '[ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"lab\"])" "$json")" = "$lab" ]' \
            "lab $nn ($who): the results name the lab"
    done
done
# the check's database copies are gone
left=$(admin_psql -Atc "SELECT count(*) FROM pg_database WHERE datname LIKE 'apibench_t_labs_lab%'")
check '[ "$left" = 0 ]' "the checks dropped their database copies"
note "ok"
