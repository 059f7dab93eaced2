#!/usr/bin/env bash
# test_async_redis_prefix - 06-async and apibench-worker given one Redis key prefix
# (APIBENCH_REDIS_PREFIX, as `apibench lab setup --student` exports it) keep the job stream,
# its stats and its dead letters under that prefix; a job goes through end to end, and the
# unprefixed stream of the same name is never created. A worker with another prefix sees
# none of these jobs. Ports 26410-26411.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/async_common.sh"

async_setup apibench_t_async_prefix # STREAM is unique to this run
on_exit "drop_db apibench_t_async_prefix"
PREFIX="tpfx$$:"
export APIBENCH_REDIS_PREFIX=$PREFIX
# every key of both prefixes (the stream's, and the cache's entries for authentication)
on_exit "rcli --scan --pattern 'tpfx$$:*' | xargs -r redis-cli -p $APIBENCH_REDIS_PORT DEL >/dev/null 2>&1"
on_exit "rcli --scan --pattern 'tother$$:*' | xargs -r redis-cli -p $APIBENCH_REDIS_PORT DEL >/dev/null 2>&1"
start_sink 26411 0
start_async 26410 "$SINK_URL"

enqueue 3
check '[ "$(rcli XLEN "$PREFIX$STREAM")" -eq 3 ]' "the 3 jobs are in the prefixed stream $PREFIX$STREAM"
check '[ "$(rcli HGET "$PREFIX$STREAM:stats" enqueued)" = 3 ]' "the server counts them in the prefixed stats hash"
check '[ "$(rcli EXISTS "$STREAM")" = 0 ]' "the unprefixed stream $STREAM does not exist"

# a worker of another student (another prefix) finds nothing to do and leaves the jobs
APIBENCH_REDIS_PREFIX="tother$$:" start_worker "$SINK_URL" --exit-when-idle --relay-every-ms 200
wait "$WORKER_PID" || fail "the other prefix's worker exited non-zero"
check '[ "$(sql "SELECT count(*) FROM reports WHERE status = '"'done'"'")" -eq 0 ]' \
    "a worker with another prefix did none of the jobs"

start_worker "$SINK_URL" --exit-when-idle
wait_done 3 60
wait "$WORKER_PID" || fail "the worker exited non-zero"
check '[ "$(rcli XLEN "$PREFIX$STREAM")" -eq 0 ]' "the prefixed stream is drained"
completed=$(rcli HGET "$PREFIX$STREAM:stats" completed)
check '[ "${completed:-0}" -eq 3 ]' "the job counters are in $PREFIX$STREAM:stats (completed=${completed:-none})"
check '[ "$(rcli EXISTS "$STREAM:stats")" = 0 ]' "no unprefixed stats hash was written"
note "ok"
