#!/usr/bin/env bash
# test_labs_reference.sh - the workshop's solutions check (issue 13, part 4): for each lab
# 02..06, `apibench lab check NN --reference` (core's strategy swapped in for solution.c)
# passes: correct, at least half the reference's speed-up, significant. About 1.5 minutes a
# lab at scale 1; LAB_TEST_LABS="02 05" runs some labs only.
# shellcheck source=tests/integration/labs_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/labs_common.sh"

labs_setup reference
for nn in ${LAB_TEST_LABS:-02 03 04 05 06}; do
    lab_expect "$nn" reference
done
labs_copies_gone
note "ok"
