#!/usr/bin/env bash
# test_gzip.sh - 05-gzip end to end: gzip when Accept-Encoding allows it (q-values
# honoured), identity otherwise, Vary: Accept-Encoding on every body large enough to be
# compressed, none on small ones, and the same JSON after un-gzipping. Also the byte
# counters before and after encoding.
# Database apibench_t_strat_gzip; port 18420.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
SERVER=$(require_bin apibench-05-gzip)
CLI=$(require_bin apibench)
DB=apibench_t_strat_gzip
PORT=18420
SEED=13

seeded_db "$DB" "$SEED"
read -r _ _ KEY < <("$CLI" keys --seed "$SEED" | head -n 1)
[ -n "${KEY:-}" ] || fail "apibench keys printed no key"

TMP=$(mktemp -d /tmp/apibench-t-strat-gzip.XXXXXX)
on_exit "rm -rf '$TMP'"
"$SERVER" --port "$PORT" --database-url "$T_APP_DATABASE_URL" --threads 4 --quiet \
    >"$TMP/server.log" 2>&1 &
track_pid $!
wait_http "http://127.0.0.1:$PORT/healthz" 30 || { cat "$TMP/server.log" >&2; fail "05-gzip did not start"; }

BIG="http://127.0.0.1:$PORT/api/readings/latest?limit=100" # ~13 KB of JSON
SMALL="http://127.0.0.1:$PORT/api/devices/999999"          # a short JSON 404 error

# fetch NAME URL [ACCEPT_ENCODING] - headers to $TMP/NAME.h, raw body to $TMP/NAME.b.
fetch() {
    local args=(-s -D "$TMP/$1.h" -o "$TMP/$1.b" --max-time 20 -H "X-API-Key: $KEY")
    [ $# -ge 3 ] && args+=(-H "Accept-Encoding: $3")
    curl "${args[@]}" "$2"
}
header() { tr -d '\r' <"$TMP/$1.h" | awk -v h="$2" 'tolower($1) == tolower(h) ":" { $1 = ""; sub(/^ /, ""); print }'; }

before_rendered=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 ~ /stage="rendered"/ { print $2 }')
fetch plain "$BIG"
fetch gz "$BIG" "gzip, deflate, br"
fetch star "$BIG" "*"
fetch q0 "$BIG" "gzip;q=0, identity"
fetch pref "$BIG" "gzip;q=0.5, identity;q=1"
fetch xgz "$BIG" "x-gzip"

check '[ "$(head -c 2 "$TMP/gz.b" | od -An -tx1 | tr -d " ")" = 1f8b ]' "gzip accepted: the body is gzip"
check '[ "$(header gz Content-Encoding)" = gzip ]' "Content-Encoding: gzip"
check '[ "$(header gz Vary)" = Accept-Encoding ]' "Vary: Accept-Encoding on the gzip response"
check 'gunzip -c "$TMP/gz.b" | cmp -s - "$TMP/plain.b"' "the un-gzipped body equals the identity body"
size_plain=$(stat -c %s "$TMP/plain.b")
size_gz=$(stat -c %s "$TMP/gz.b")
check '[ "$size_plain" -ge 1024 ] && [ "$size_gz" -lt "$size_plain" ]' "compressed $size_plain -> $size_gz bytes"
note "latest?limit=100: $size_plain bytes -> $size_gz bytes gzip"

check '[ -z "$(header plain Content-Encoding)" ]' "no Accept-Encoding: identity"
check '[ "$(header plain Vary)" = Accept-Encoding ]' "no Accept-Encoding: still Vary (the body could be gzip)"
check '[ "$(header star Content-Encoding)" = gzip ]' "\"*\" allows gzip"
check '[ -z "$(header q0 Content-Encoding)" ] && cmp -s "$TMP/q0.b" "$TMP/plain.b"' "gzip;q=0 gets identity"
check '[ -z "$(header pref Content-Encoding)" ]' "identity preferred by q-value gets identity"
check '[ "$(header xgz Content-Encoding)" = gzip ]' "x-gzip is gzip"

fetch small "$SMALL" "gzip"
check '[ "$(wc -c <"$TMP/small.b")" -lt 1024 ]' "the 404 body is below the threshold"
check '[ -z "$(header small Content-Encoding)" ]' "a body below 1 KB is not compressed"
check '[ -z "$(header small Vary)" ]' "a body below 1 KB carries no Vary"

metrics=$(curl -s "http://127.0.0.1:$PORT/metrics")
rendered=$(awk '$1 ~ /stage="rendered"/ { print $2 }' <<<"$metrics")
sent=$(awk '$1 ~ /stage="sent"/ { print $2 }' <<<"$metrics")
check '[ -n "$rendered" ] && [ -n "$sent" ] && [ "$sent" -lt "$rendered" ]' "bytes sent ($sent) < bytes rendered ($rendered)"
check '[ "$rendered" -gt "${before_rendered:-0}" ]' "rendered bytes are counted"
note "ok"
