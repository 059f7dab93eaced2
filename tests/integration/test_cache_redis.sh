#!/usr/bin/env bash
# test_cache_redis.sh - 03-cache's two-level cache against real Redis and PostgreSQL.
#
#  1. Two instances (ports 18401, 18402) on one database and the shared private Redis: a
#     device read through A is an L2 hit on B, then an L1 hit on B; a reading ingested
#     through A shows in B's next response (DEL + PUBLISH, B's subscriber drops its L1).
#  2. A third instance (18403) on a throwaway redis-server of this test's own (18490), so
#     that stopping Redis does not disturb other tests using the shared one: with Redis
#     stopped the instance keeps answering 200 from PostgreSQL and counts L2 errors; once
#     Redis is back, L2 hits return.
# Database apibench_t_strat_cache; ports 18401-18403 and 18490.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
SERVER=$(require_bin apibench-03-cache)
CLI=$(require_bin apibench)
DB=apibench_t_strat_cache
PORT_A=18401 PORT_B=18402 PORT_C=18403 REDIS_PORT=18490
SEED=11

seeded_db "$DB" "$SEED"

read -r USER_ID _ KEY < <("$CLI" keys --seed "$SEED" | head -n 1)
[ -n "${KEY:-}" ] || fail "apibench keys printed no key"
DEVICE=$("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT d.id FROM devices d JOIN user_sites us
    ON us.site_id = d.site_id WHERE us.user_id = $USER_ID AND d.status = 'active'
    ORDER BY d.id LIMIT 1")
[ -n "$DEVICE" ] || fail "no active device visible to user $USER_ID"
note "user $USER_ID, device $DEVICE"

LOGDIR=$(mktemp -d /tmp/apibench-t-strat-cache.XXXXXX)
on_exit "rm -rf '$LOGDIR'"

# start_server NAME PORT REDIS_URL [FLAGS...] - starts 03-cache in the background.
start_server() {
    local name=$1 port=$2 redis=$3
    shift 3
    "$SERVER" --port "$port" --database-url "$T_APP_DATABASE_URL" --redis-url "$redis" \
        --threads 4 --quiet "$@" >"$LOGDIR/$name.log" 2>&1 &
    track_pid $!
    wait_http "http://127.0.0.1:$port/healthz" 30 ||
        { cat "$LOGDIR/$name.log" >&2; fail "$name did not start on port $port"; }
}

# get PORT PATH - prints the body to $LOGDIR/body and the status code to stdout.
get() {
    curl -s -o "$LOGDIR/body" -w '%{http_code}' --max-time 10 -H "X-API-Key: $KEY" \
        "http://127.0.0.1:$1$2"
}

# metric PORT NAME_WITH_LABELS - prints the metric's value (0 when absent).
metric() {
    curl -s --max-time 10 "http://127.0.0.1:$1/metrics" |
        awk -v m="$2" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}

L1_HIT='apibench_cache_lookups_total{level="l1",result="hit"}'
L2_HIT='apibench_cache_lookups_total{level="l2",result="hit"}'
L2_MISS='apibench_cache_lookups_total{level="l2",result="miss"}'
L2_ERROR='apibench_cache_lookups_total{level="l2",result="error"}'
RECEIVED='apibench_cache_invalidations_received_total'

# ---------------------------------------------------------------- 1. shared L2, invalidation
start_server a "$PORT_A" "$REDIS_URL"
start_server b "$PORT_B" "$REDIS_URL"

status=$(get "$PORT_A" "/api/devices/$DEVICE")
check '[ "$status" = 200 ]' "A answers GET /api/devices/$DEVICE with 200, got $status"
body_a=$(cat "$LOGDIR/body")

l2_before=$(metric "$PORT_B" "$L2_HIT")
status=$(get "$PORT_B" "/api/devices/$DEVICE")
check '[ "$status" = 200 ]' "B answers 200, got $status"
check '[ "$(cat "$LOGDIR/body")" = "$body_a" ]' "B's body equals A's"
l2_after=$(metric "$PORT_B" "$L2_HIT")
check '[ "$l2_after" -gt "$l2_before" ]' "B's first read is an L2 hit (A stored it): $l2_before -> $l2_after"

l1_before=$(metric "$PORT_B" "$L1_HIT")
get "$PORT_B" "/api/devices/$DEVICE" >/dev/null
l1_after=$(metric "$PORT_B" "$L1_HIT")
check '[ "$l1_after" -gt "$l1_before" ]' "B's second read is an L1 hit: $l1_before -> $l1_after"

# a reading newer than any seeded one, with a value no seeded reading has
TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)
received_before=$(metric "$PORT_B" "$RECEIVED")
status=$(curl -s -o "$LOGDIR/ingest" -w '%{http_code}' --max-time 10 -H "X-API-Key: $KEY" \
    -H 'Content-Type: application/json' -X POST \
    --data "{\"readings\":[{\"timestamp\":\"$TS\",\"temperature\":42.125,\"humidity\":33.5,\"battery\":77,\"rssi\":-61}]}" \
    "http://127.0.0.1:$PORT_A/api/devices/$DEVICE/readings")
check '[ "$status" = 201 ] || [ "$status" = 200 ]' "ingest through A is accepted, got $status: $(cat "$LOGDIR/ingest")"

seen=no
for ((i = 0; i < 30; i++)); do # pub/sub is immediate on loopback; allow up to 3 s
    get "$PORT_B" "/api/devices/$DEVICE" >/dev/null
    if grep -q '42\.125' "$LOGDIR/body"; then
        seen=yes
        break
    fi
    sleep 0.1
done
check '[ "$seen" = yes ]' "B's response shows the reading ingested through A (cross-instance invalidation)"
received_after=$(metric "$PORT_B" "$RECEIVED")
check '[ "$received_after" -gt "$received_before" ]' "B counted the invalidation it received: $received_before -> $received_after"
received_a=$(metric "$PORT_A" "$RECEIVED")
check '[ "$received_a" = 0 ]' "A ignores its own invalidations, counted $received_a"

# ---------------------------------------------------------------- 2. Redis down and back
REDIS_DIR=$LOGDIR/redis
mkdir -p "$REDIS_DIR"
start_redis() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$REDIS_DIR" >>"$LOGDIR/redis.log" 2>&1 &
    REDIS_PID=$!
    track_pid "$REDIS_PID"
    wait_port "$REDIS_PORT" 10 || fail "redis-server did not start on $REDIS_PORT"
}
stop_redis() {
    kill -TERM "$REDIS_PID"
    wait "$REDIS_PID" 2>/dev/null || true
}
start_redis
PRIVATE_REDIS=redis://127.0.0.1:$REDIS_PORT/0
# a short L1 TTL, so that a repeated read reaches L2 without a long wait
start_server c "$PORT_C" "$PRIVATE_REDIS" --l1-ttl-ms 300

status=$(get "$PORT_C" "/api/devices/$DEVICE/readings?hours=1")
check '[ "$status" = 200 ]' "C answers 200 with Redis up, got $status"

stop_redis
note "redis on $REDIS_PORT stopped"
errors_before=$(metric "$PORT_C" "$L2_ERROR")
for h in 2 3 4 5; do
    status=$(get "$PORT_C" "/api/devices/$DEVICE/readings?hours=$h")
    check '[ "$status" = 200 ]' "with Redis down C still answers 200 from PostgreSQL (hours=$h), got $status"
done
status=$(get "$PORT_C" "/api/devices/$DEVICE")
check '[ "$status" = 200 ]' "with Redis down GET /api/devices/$DEVICE answers 200, got $status"
errors_after=$(metric "$PORT_C" "$L2_ERROR")
check '[ "$errors_after" -gt "$errors_before" ]' "L2 errors are counted while Redis is down: $errors_before -> $errors_after"

start_redis
note "redis on $REDIS_PORT started again"
sleep 1.2 # reconnects are attempted at most once a second
hits_before=$(metric "$PORT_C" "$L2_HIT")
back=no
for ((i = 0; i < 20; i++)); do
    get "$PORT_C" "/api/devices/$DEVICE/readings?hours=6" >/dev/null # stores in L2 once Redis is back
    sleep 0.4                                                         # past the 300 ms L1 TTL
    get "$PORT_C" "/api/devices/$DEVICE/readings?hours=6" >/dev/null
    if [ "$(metric "$PORT_C" "$L2_HIT")" -gt "$hits_before" ]; then
        back=yes
        break
    fi
done
check '[ "$back" = yes ]' "L2 hits come back once Redis is back"
misses=$(metric "$PORT_C" "$L2_MISS")
note "C: l2 hits $(metric "$PORT_C" "$L2_HIT"), misses $misses, errors $(metric "$PORT_C" "$L2_ERROR")"
note "ok"
