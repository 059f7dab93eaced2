#!/usr/bin/env bash
# test_cache_race.sh - the tiered cache under concurrent ingests and reads, and its Redis
# memory bound, against real PostgreSQL and a private redis-server (port 18190) whose keys
# are this test's alone.
#
#  0. The headline page filled through A is kept in Redis as gzip only; B's L2 hit inflates
#     it and answers identity and gzip clients with A's bytes (Vary, Content-Encoding).
#  1. Two 05-gzip instances A (18140) and B (18141) on one database. One thread ingests
#     readings into a device through A, in bursts; six threads read that device's pages
#     (random limits, so pages keep being missed and stored while invalidations land)
#     through A and B (tests/integration/cache_race.c). No read that starts after an
#     ingest was acknowledged may show older data: none at all through A, and none later
#     than 1 s (pub/sub delivery, well inside the 5 s L1 TTL) through B.
#  2. Instance C (18142, L2 dynamic TTL 1 s) is asked 3000 distinct pages of one device at
#     300/s: the device's Redis hash must end with far fewer fields than 3000, because
#     expired fields are pruned as new ones are written (cache_tiered.c).
# Database apibench_t_cache_race (tests/integration/api_common.sh).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api_common.sh"

RACE=$(require_bin tests/apibench-cache-race)
PORT_A=18140 PORT_B=18141 PORT_C=18142 REDIS_PORT=18190

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$API_TMP" >"$API_TMP/redis.log" 2>&1 &
track_pid $!
wait_port "$REDIS_PORT" 10 || fail "redis-server did not start on $REDIS_PORT"
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

api_setup apibench_t_cache_race
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0 # start_build's servers use the private Redis
LOGDIR=$API_TMP
ADMIN_KEY=${KEY[1]} # user 1 sees every site
mapfile -t DEVICES < <("$PSQL" -X -At "$T_DATABASE_URL" -c "SELECT id FROM devices
    WHERE status = 'active' ORDER BY id LIMIT 2")
[ "${#DEVICES[@]}" = 2 ] || fail "need two active devices"

start_build 05-gzip "$PORT_A" --quiet
start_build 05-gzip "$PORT_B" --quiet
A=http://127.0.0.1:$PORT_A B=http://127.0.0.1:$PORT_B

# ---------------------------------------------------------------- 0. gzip in L2
# A fills the headline page; Redis holds its gzip only; B's first read is an L2 hit that
# inflates it, and B answers identity and gzip clients with the bytes A sent.
PAGE=/api/readings/latest?limit=100
page() { # URL OUT [ACCEPT] - GET with the headers in OUT.h
    curl -s --max-time 10 -H "X-API-Key: $ADMIN_KEY" ${3:+-H "Accept-Encoding: $3"} -o "$2" -D "$2.h" "$1$PAGE"
}
page "$A" "$LOGDIR/a.json"
HEADLINE=$(rcli --scan --pattern 'apibench:cache:*:latest' | head -n 1)
form=$(rcli EVAL "return string.sub(redis.call('HGET', KEYS[1], ARGV[1]), 1, 20)" 1 "$HEADLINE" \
    "$(rcli HKEYS "$HEADLINE" | grep -v '^#' | head -n 1)" | cut -d'|' -f2)
check '[ "$form" = g ]' "Redis holds the page's gzip form, got '$form'"
l2_hits() { curl -s "$B/metrics" | awk '$1 == "apibench_cache_lookups_total{level=\"l2\",result=\"hit\"}" { print $2 }'; }
before=$(l2_hits)
page "$B" "$LOGDIR/b.json"
check '[ "$(l2_hits)" -gt "${before:-0}" ]' "B's first read of the page is an L2 hit"
check 'cmp -s "$LOGDIR/a.json" "$LOGDIR/b.json"' "B's identity body (inflated from L2) equals A's byte for byte"
check '! grep -qi "^content-encoding" "$LOGDIR/b.json.h"' "no Content-Encoding without Accept-Encoding"
page "$B" "$LOGDIR/b.gz" gzip
check 'grep -qi "^content-encoding: gzip" "$LOGDIR/b.gz.h" && grep -qi "^vary: accept-encoding" "$LOGDIR/b.gz.h"' \
    "B's gzip answer has Content-Encoding: gzip and Vary: Accept-Encoding"
check 'cmp -s <(gzip -dc "$LOGDIR/b.gz") "$LOGDIR/a.json"' "B's gzip body decodes to A's bytes"

# ---------------------------------------------------------------- 1. no stale read
note "ingesting into device ${DEVICES[0]} through A while reading it through A and B"
if out=$("$RACE" race "$A" "$A,$B" "$ADMIN_KEY" "${DEVICES[0]}" 15 3 1000 2>"$LOGDIR/race.err"); then
    ok=yes
else
    ok=no
fi
note "$out"
[ "$ok" = yes ] || head -n 10 "$LOGDIR/race.err" >&2
check '[ "$ok" = yes ]' "no read after an acknowledged ingest showed older data ($out)"

# ---------------------------------------------------------------- 2. bounded Redis hash
start_build 05-gzip "$PORT_C" --quiet --l2-dynamic-ttl 1
out=$("$RACE" distinct "http://127.0.0.1:$PORT_C" "$ADMIN_KEY" "${DEVICES[1]}" 3000 300) ||
    fail "distinct reads failed: $out"
note "$out"
HASH=$(rcli --scan --pattern "apibench:cache:*:device:${DEVICES[1]}" | head -n 1)
[ -n "$HASH" ] || fail "no Redis hash for device ${DEVICES[1]}"
fields=$(rcli HLEN "$HASH")
bytes=$(rcli MEMORY USAGE "$HASH")
note "after 3000 distinct pages (L2 TTL 1 s): $fields fields, $bytes bytes in $HASH"
check '[ "$fields" -lt 1000 ]' "expired fields are pruned: $fields of 3000 remain (at most ~400 live)"
