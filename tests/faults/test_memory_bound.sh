#!/usr/bin/env bash
# test_memory_bound.sh - the server's memory levels off under a stream of distinct cache keys.
#
# 06-async (defaults: 32 threads, L1 of 10 000 entries / 256 MB) takes keep-alive GETs as
# fast as it answers them from 16 connections, for FAULT_MEMORY_SECONDS (300; shorter for a
# local run), of mostly distinct keys: random devices, hours and limits, so that nearly
# every request misses, queries PostgreSQL and fills L1 and Redis. The server's RSS is
# printed every 10 s. It must stay below MEMORY_BOUND_MB (the bound docs/API.md states)
# and level off: over the run's last third it grows by less than 10% of its peak.
# Database apibench_t_faults_memory; port 18480.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../integration/async_common.sh"

SECONDS_TOTAL=${FAULT_MEMORY_SECONDS:-300}
MEMORY_BOUND_MB=${MEMORY_BOUND_MB:-400}
[ "$SECONDS_TOTAL" -ge 30 ] || fail "FAULT_MEMORY_SECONDS must be at least 30"
async_setup apibench_t_faults_memory
on_exit "drop_db apibench_t_faults_memory"
DEVICES=$(sql "SELECT string_agg(d.id::text, ',') FROM devices d JOIN user_sites us ON us.site_id = d.site_id WHERE us.user_id = 1")
[ -n "$DEVICES" ] || fail "user 1 sees no device"

PORT=18480
"$(require_bin apibench-06-async)" --port "$PORT" --database-url "$APP_URL" --redis-url "$REDIS_URL" \
    >"$ASYNC_TMP/server.log" 2>&1 &
SERVER_PID=$!
track_pid "$SERVER_PID"
wait_http "http://127.0.0.1:$PORT/healthz" 20 || { cat "$ASYNC_TMP/server.log"; fail "06-async did not start"; }

rss_mb() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$SERVER_PID/status"; }

note "distinct keys for $SECONDS_TOTAL s from 16 connections; RSS every 10 s (bound $MEMORY_BOUND_MB MB)"
/usr/bin/python3 "$SOURCE_DIR/tests/faults/clients.py" load --port "$PORT" --seconds "$SECONDS_TOTAL" \
    --key "$KEY" --devices "$DEVICES" --connections 16 >"$ASYNC_TMP/load.json" 2>"$ASYNC_TMP/load.progress" &
LOAD=$!
track_pid "$LOAD"
samples=()
for ((t = 10; t <= SECONDS_TOTAL; t += 10)); do
    sleep 10
    ab_pid_alive "$SERVER_PID" || { tail -5 "$ASYNC_TMP/server.log"; fail "the server died at $t s"; }
    rss=$(rss_mb)
    samples+=("$rss")
    note "t=${t}s rss=${rss}MB load: $(tail -n 1 "$ASYNC_TMP/load.progress" 2>/dev/null)"
done
wait "$LOAD" || fail "the load client failed"
note "load: $(cat "$ASYNC_TMP/load.json")"

n=${#samples[@]}
max=0
for r in "${samples[@]}"; do ((r > max)) && max=$r; done
last_third=$((n - n / 3 - 1))
growth=$((samples[n - 1] - samples[last_third]))
note "RSS: peak ${max} MB; over the last third (from t=$(((last_third + 1) * 10))s) it changed by ${growth} MB"
requests=$(jq -r .requests "$ASYNC_TMP/load.json")
check '[ "$requests" -gt $((SECONDS_TOTAL * 50)) ]' "the load ran at over 50 req/s, got $requests requests"
check '[ "$max" -lt "$MEMORY_BOUND_MB" ]' "RSS stayed below $MEMORY_BOUND_MB MB, peaked at $max MB"
check '[ "$growth" -lt $((max / 10)) ]' \
    "RSS levelled off: grew ${growth} MB over the last third (allowed: under $((max / 10)) MB, 10% of the peak)"
note "ok"
