#!/usr/bin/env bash
# test_labs_scaffold.sh - for each lab 02..06, the untouched scaffold (solution.c as
# committed, which behaves as the previous build) is judged "not fast enough" or
# "incorrect", never a build error or an unfinished check. LAB_TEST_LABS="02 05" runs some
# labs only.
# shellcheck source=tests/integration/labs_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/labs_common.sh"

labs_setup scaffold
for nn in ${LAB_TEST_LABS:-02 03 04 05 06}; do
    lab_expect "$nn" scaffold
done
labs_copies_gone
note "ok"
