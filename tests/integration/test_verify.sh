#!/usr/bin/env bash
# test_verify.sh - apibench verify against real builds: 02-indexes (identity) and 05-gzip
# (gzip) on one seeded scale-1 database pass every check, including equal bodies across
# the two; a short run of a mixed workload (all four request routes) has no errors; a wrong dataset seed (every key refused) and a server that is not the API
# (the harness's delay server) fail with FAIL lines and exit 1.
# Database apibench_t_harness_verify, ports 18520-18522 (18519: nothing listens).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/api_common.sh"

api_setup apibench_t_harness_verify
start_build 02-indexes 18520
start_build 05-gzip 18521
APIBENCH=$(require_bin apibench)

note "verify two builds"
set +e
"$APIBENCH" verify --target http://127.0.0.1:18520 --target http://127.0.0.1:18521 \
    --dataset-seed "$API_SEED" >"$API_TMP/verify.out" 2>&1
rc=$?
set -e
cat "$API_TMP/verify.out"
check '[ $rc -eq 0 ]' "verify of 02-indexes and 05-gzip exits 0"
check 'grep -q "^PASS http://127.0.0.1:18521 latest: gzip negotiated" "$API_TMP/verify.out"' \
    "05-gzip negotiates gzip"
check 'grep -q "^PASS http://127.0.0.1:18521 same answer as http://127.0.0.1:18520: GET /api/readings/latest?limit=100" "$API_TMP/verify.out"' \
    "bodies compared across builds"
check '[ "$(grep -c "^PASS" "$API_TMP/verify.out")" -ge 40 ]' "at least 40 checks ran"
check '! grep -q "^FAIL" "$API_TMP/verify.out"' "no FAIL line"

note "verify --writes (one ingest and one report)"
set +e
"$APIBENCH" verify --target http://127.0.0.1:18521 --dataset-seed "$API_SEED" --writes --quiet \
    >"$API_TMP/writes.out" 2>&1
rc=$?
set -e
cat "$API_TMP/writes.out"
check '[ $rc -eq 0 ]' "verify --writes exits 0"

note "a short mixed run against 05-gzip, as the reproduction does after verify"
cat >"$API_TMP/mix.json" <<MIX
{"dataset_seed": $API_SEED, "users": [1], "devices": {"min": 1, "max": 1000, "zipf_skew": 1.0},
 "routes": [{"route": "latest", "weight": 70}, {"route": "device_readings", "weight": 10},
            {"route": "device", "weight": 10}, {"route": "ingest", "weight": 10, "batch": 5}]}
MIX
set +e
# --decode: the load phases count wire bytes only; this run also checks the decoded sizes
"$APIBENCH" run --target http://127.0.0.1:18521 --mix "$API_TMP/mix.json" --rate 20 --decode \
    --warmup 0.5 --duration 3 --quiet --out "$API_TMP/mixed/run" >"$API_TMP/run.out" 2>&1
rc=$?
set -e
cat "$API_TMP/run.out"
check '[ $rc -eq 0 ]' "mixed run exits 0"
check 'jq -e ".errors.total == 0 and .completed == 60 and (.routes | keys | length) == 4
    and .routes.ingest.count > 0 and .bytes.gzip_responses > 0
    and .bytes.body_decoded > .bytes.body_wire" "$API_TMP/mixed/run.json" >/dev/null' \
    "every route answered without errors, gzip bodies counted on the wire and decoded"

note "verify with the wrong dataset seed"
set +e
"$APIBENCH" verify --target http://127.0.0.1:18520 --dataset-seed 999 >"$API_TMP/wrong.out" 2>&1
rc=$?
set -e
check '[ $rc -eq 1 ]' "a wrong seed fails (exit $rc)"
check 'grep -q "^FAIL http://127.0.0.1:18520 GET /api/readings/latest?limit=100: 200, headers, shape: status 401" "$API_TMP/wrong.out"' \
    "the refused key is named in a FAIL line"

note "verify something that is not the API"
"$BUILD_DIR/tests/apibench-delay-server" --port 18522 --delay-ms 0 --threads 1 >"$API_TMP/ds.log" 2>&1 &
track_pid $!
wait_http http://127.0.0.1:18522/ 10 || fail "delay server did not start"
set +e
"$APIBENCH" verify --target http://127.0.0.1:18522 >"$API_TMP/other.out" 2>&1
rc=$?
set -e
check '[ $rc -eq 1 ]' "a non-API server fails verify (exit $rc)"
check '[ "$(grep -c "^FAIL" "$API_TMP/other.out")" -ge 5 ]' "several FAIL lines for a non-API server"

note "an unreachable target: one FAIL line"
set +e
"$APIBENCH" verify --target http://127.0.0.1:18519 >"$API_TMP/dead.out" 2>&1
rc=$?
set -e
check '[ $rc -eq 1 ] && [ "$(grep -c "^FAIL http" "$API_TMP/dead.out")" -eq 1 ]' \
    "an unreachable target fails once (exit $rc)"
check 'grep -q "^FAIL http://127.0.0.1:18519 reachable: cannot connect to" "$API_TMP/dead.out"' \
    "the unreachable target is named"

note "bad usage"
set +e
"$APIBENCH" verify >"$API_TMP/usage.out" 2>&1
rc1=$?
"$APIBENCH" verify --target ftp://x >"$API_TMP/usage2.out" 2>&1
rc2=$?
export rc1 rc2 # read by check's eval
set -e
check '[ "$rc1" -eq 2 ] && [ "$rc2" -eq 2 ]' "missing or bad --target is a usage error"
note "ok"
