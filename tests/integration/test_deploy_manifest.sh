#!/usr/bin/env bash
# test_deploy_manifest.sh - the Kubernetes manifests in deploy/ pass the offline schema
# check (deploy/check_manifest.py, the API models of Debian's python3-kubernetes: no
# cluster, so no `kubectl apply --dry-run=client`), and the check refuses a manifest with
# an unknown field, a wrongly typed value or a missing required field.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

checker=$SOURCE_DIR/deploy/check_manifest.py
tmp=$(mktemp -d /tmp/apibench-deploy-manifest.XXXXXX)
on_exit "rm -rf '$tmp'"

for m in "$SOURCE_DIR"/deploy/*.yaml; do
    check '"$checker" "$m"' "$(basename "$m") passes the schema check"
done
m=$SOURCE_DIR/deploy/apibench-segments.yaml
check 'grep -q "completionMode: Indexed" "$m" && grep -q "JOB_COMPLETION_INDEX/" "$m"' \
    "the Job is indexed and passes JOB_COMPLETION_INDEX as the segment"

sed 's/completionMode:/completionMod:/' "$m" >"$tmp/unknown.yaml"
sed 's/parallelism: 4 /parallelism: "4" /' "$m" >"$tmp/type.yaml"
sed 's/^\( *\)- name: apibench$/\1- stdin: false/' "$m" >"$tmp/required.yaml"
for bad in unknown type required; do
    check '! "$checker" "$tmp/$bad.yaml" >"$tmp/$bad.out" 2>&1' "a manifest with a bad field ($bad) is refused"
done
check 'grep -q "completionMod: not a field" "$tmp/unknown.out"' "the unknown field is named"
check 'grep -q "parallelism: expected int" "$tmp/type.out"' "the wrong type is named"
check 'grep -q "containers\[0\].name: required" "$tmp/required.out"' "the missing field is named"
note "ok"
