#!/usr/bin/env bash
# test_seed.sh - `apibench seed`, `freshen` and `keys` against the private Postgres, at
# scale 1: row counts, keys, foreign keys, seed_info; the same seed gives identical data (an
# ordered dump with timestamps taken relative to the anchor), in binary and text COPY; a
# different seed differs; skip, refusal, partial-seed recovery, Ctrl-C rollback; the
# readings.id sequence (set after COPY; added to a seed made before it); bad input; freshen.
# Databases: apibench_t_seed, apibench_t_seed_b.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
APIBENCH=$(require_bin apibench)
URL_A=$(fresh_db apibench_t_seed)
URL_B=$(fresh_db apibench_t_seed_b)
on_exit 'drop_db apibench_t_seed; drop_db apibench_t_seed_b'
out=$(mktemp -d)
on_exit "rm -rf '$out'"

q() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 "$1" -c "$2"; }

# dump URL - md5 of every seeded table in id order, timestamps as ms before the anchor.
dump() {
    local url=$1 off="((extract(epoch FROM a.anchor - %s)) * 1000)::bigint"
    local t sql
    {
        for t in \
            "SELECT s.id, s.name, s.region, s.timezone, $(printf "$off" s.created_at) FROM sites s, seed_info a ORDER BY s.id" \
            "SELECT d.id, d.site_id, d.name, d.model, d.firmware, d.status, $(printf "$off" d.installed_at), $(printf "$off" d.last_seen_at) FROM devices d, seed_info a ORDER BY d.id" \
            "SELECT u.id, u.email, u.name, $(printf "$off" u.created_at) FROM users u, seed_info a ORDER BY u.id" \
            "SELECT k.id, k.user_id, k.prefix, encode(k.key_hash, 'hex'), $(printf "$off" k.created_at), k.last_used_at, k.revoked_at FROM api_keys k, seed_info a ORDER BY k.id" \
            "SELECT user_id, site_id FROM user_sites ORDER BY 1, 2" \
            "SELECT r.id, r.device_id, $(printf "$off" 'r."timestamp"'), r.temperature, r.humidity, r.battery, r.rssi FROM readings r, seed_info a ORDER BY r.id"; do
            echo "--"
            "$PSQL" -X -q -v ON_ERROR_STOP=1 "$url" -c "COPY ($t) TO STDOUT"
        done
    } | md5sum | cut -d' ' -f1
}

# seed_ok LOG ARGS... - runs apibench seed ARGS, fails unless it exits 0; output in LOG.
seed_ok() {
    local log=$1
    shift
    "$APIBENCH" seed "$@" >"$log" 2>&1 || { cat "$log" >&2; fail "apibench seed $* failed"; }
}

printed_checksum() { sed -n 's/^checksum: \(fnv1a64:[0-9a-f]*\) .*/\1/p' "$1"; }

# --- a first seed: counts, keys, seed_info
note "seeding scale 1 into apibench_t_seed"
seed_ok "$out/a1" --scale 1 --seed 1 --database-url "$URL_A"
check 'grep -q "^creating tables\.\.\. [0-9.]* s$" "$out/a1"' "the create step is reported with its time"
check 'grep -q "^vacuuming/analyzing\.\.\. [0-9.]* s$" "$out/a1"' "the vacuum step is reported"
check 'grep -q "^creating primary keys and foreign keys\.\.\. [0-9.]* s$" "$out/a1"' "the keys step is reported"
check 'grep -q "^rate: [0-9]* readings/s" "$out/a1"' "the rate is printed"
check 'grep -q "rows/s.*eta" "$out/a1"' "a progress line with rows/s and eta"
sum_a=$(printed_checksum "$out/a1")
check '[ -n "$sum_a" ]' "a checksum is printed"
# The value from before readings.id had a sequence: the sequence changes no row. (A change
# of the generation rules changes it, together with GEN_VERSION.)
check '[ "$sum_a" = fnv1a64:8fd326881e737d5a ]' "scale 1, seed 1 keeps its checksum: $sum_a"
seq=$(q "$URL_A" "SELECT last_value || ' ' || is_called FROM readings_id_seq")
check '[ "$seq" = "500000 true" ]' "the readings sequence starts after the seeded ids 1..500000: $seq"

counts=$(q "$URL_A" "SELECT (SELECT count(*) FROM sites) || ' ' || (SELECT count(*) FROM devices) || ' ' ||
    (SELECT count(*) FROM readings) || ' ' || (SELECT count(*) FROM users) || ' ' ||
    (SELECT count(*) FROM api_keys) || ' ' || (SELECT count(*) FROM reports)")
check '[ "$counts" = "5 1000 500000 5 5 0" ]' "row counts at scale 1 (sites devices readings users keys reports): $counts"
access=$(q "$URL_A" "SELECT string_agg(n::text, ' ' ORDER BY user_id) FROM
    (SELECT user_id, count(*) n FROM user_sites GROUP BY user_id) x")
check '[ "${access%% *}" = 5 ] && [ "$(wc -w <<<"$access")" = 5 ]' "user 1 sees all 5 sites, every user some: $access"
statuses=$(q "$URL_A" "SELECT count(DISTINCT status) FROM devices")
check '[ "$statuses" = 3 ]' "devices have all three statuses"
silent=$(q "$URL_A" "SELECT count(*) FROM devices d WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.device_id = d.id)")
check '[ "$silent" -ge 1 ] && [ "$silent" -le 20 ]' "a few devices have no readings ($silent)"
keys=$(q "$URL_A" "SELECT count(*) FILTER (WHERE contype = 'p') || ' ' || count(*) FILTER (WHERE contype = 'f')
    || ' ' || bool_and(convalidated) FROM pg_constraint WHERE connamespace = 'public'::regnamespace")
check '[ "$keys" = "7 6 true" ]' "7 primary keys and 6 validated foreign keys: $keys"
orphans=$(q "$URL_A" "SELECT (SELECT count(*) FROM readings r LEFT JOIN devices d ON d.id = r.device_id WHERE d.id IS NULL)
    + (SELECT count(*) FROM devices d LEFT JOIN sites s ON s.id = d.site_id WHERE s.id IS NULL)")
check '[ "$orphans" = 0 ]' "no reading or device points nowhere"
info=$(q "$URL_A" "SELECT scale || ' ' || seed || ' ' || complete || ' ' || checksum FROM seed_info")
check '[ "$info" = "1 1 true $sum_a" ]' "seed_info is complete and holds the printed checksum: $info"
window=$(q "$URL_A" "SELECT bool_and(r.\"timestamp\" <= a.anchor AND r.\"timestamp\" > a.anchor - interval '30 days')
    FROM readings r, seed_info a")
check '[ "$window" = t ]' "readings lie in the 30 days before the anchor"

# The key printed by apibench keys is the one stored hashed.
key1=$("$APIBENCH" keys --seed 1 | awk '$1 == 1 {print $3}')
check '[ "$(wc -l < <("$APIBENCH" keys --seed 1))" = 5 ]' "apibench keys prints 5 users"
check '[ "$key1" = ak_$(printf "apibench-key:1:1" | sha256sum | cut -c1-32) ]' "key of user 1 follows the derivation"
stored=$(q "$URL_A" "SELECT encode(key_hash, 'hex') || ' ' || prefix FROM api_keys WHERE user_id = 1")
check '[ "$stored" = "$(printf %s "$key1" | sha256sum | cut -d" " -f1) ${key1:0:8}" ]' "api_keys holds SHA-256 and prefix of the key"

# --- the same seed again: skipped, untouched
seeded_at=$(q "$URL_A" "SELECT seeded_at FROM seed_info")
seed_ok "$out/a2" --scale 1 --seed 1 --database-url "$URL_A"
check 'grep -q "already seeded with scale 1, seed 1.*skipping" "$out/a2"' "a complete identical seed is skipped, and says so"
check '[ "$(q "$URL_A" "SELECT seeded_at FROM seed_info")" = "$seeded_at" ]' "the skip leaves the data alone"

# --- a different seed without --force: refused
set +e
"$APIBENCH" seed --scale 1 --seed 2 --database-url "$URL_A" >"$out/a3" 2>"$out/a3.err"
rc=$?
set -e
check '[ $rc = 1 ] && [ "$(wc -l <"$out/a3.err")" = 1 ]' "another seed over a complete one exits 1 with one line (rc $rc)"
check 'grep -q "database already seeded (scale 1, seed 1); use --force to reseed" "$out/a3.err"' "the refusal names the existing seed"

# --- the same scale and seed made by other generation rules: refused too
q "$URL_A" "UPDATE seed_info SET generator = 'apibench-gen/0'" >/dev/null
set +e
"$APIBENCH" seed --scale 1 --seed 1 --database-url "$URL_A" >/dev/null 2>"$out/a4.err"
rc=$?
set -e
check '[ $rc = 1 ] && grep -q "by other generation rules" "$out/a4.err"' "a seed by older rules is not skipped (rc $rc)"
q "$URL_A" "UPDATE seed_info SET generator = 'apibench-gen/2'" >/dev/null

# --- the same seed into a second database: identical data (binary COPY, then text COPY)
dump_a=$(dump "$URL_A")
seed_ok "$out/b1" --scale 1 --seed 1 --database-url "$URL_B" --quiet
check '[ "$(printed_checksum "$out/b1")" = "$sum_a" ]' "the same seed prints the same checksum"
check '! grep -q "rows/s" "$out/b1"' "--quiet prints no progress"
check '[ "$(dump "$URL_B")" = "$dump_a" ]' "the same seed gives an identical ordered dump"
seed_ok "$out/b2" --scale 1 --seed 1 --database-url "$URL_B" --force --quiet --copy-format text
check '[ "$(dump "$URL_B")" = "$dump_a" ]' "COPY in text format loads the same rows as binary"
check '[ "$(printed_checksum "$out/b2")" = "$sum_a" ]' "the checksum does not depend on the COPY format"

# --- a different seed: different data
seed_ok "$out/b3" --scale 1 --seed 2 --database-url "$URL_B" --force --quiet
check '[ "$(printed_checksum "$out/b3")" != "$sum_a" ]' "another seed prints another checksum"
check '[ "$(dump "$URL_B")" != "$dump_a" ]' "another seed gives other data"

# --- a partial seed (complete = false) is replaced without --force
q "$URL_B" "UPDATE seed_info SET complete = false" >/dev/null
seed_ok "$out/b4" --scale 1 --seed 1 --database-url "$URL_B" --quiet
check 'grep -q "found a partial seed" "$out/b4"' "a partial seed is reported"
check '[ "$(q "$URL_B" "SELECT complete FROM seed_info")" = t ]' "the reseed completes"
check '[ "$(dump "$URL_B")" = "$dump_a" ]' "the reseed replaced the partial data"

# --- tables with data but no seed record are refused without --force
q "$URL_B" "DROP TABLE seed_info" >/dev/null
set +e
"$APIBENCH" seed --scale 1 --seed 1 --database-url "$URL_B" >/dev/null 2>"$out/b5.err"
rc=$?
set -e
check '[ $rc = 1 ] && grep -q "no seed record; use --force" "$out/b5.err"' "unknown data is refused (rc $rc)"
seed_ok "$out/b6" --scale 1 --seed 1 --database-url "$URL_B" --force --quiet

# --- Ctrl-C during the load rolls back to the previous seed
"$APIBENCH" seed --scale 20 --seed 3 --database-url "$URL_B" --force --quiet >"$out/b7" 2>"$out/b7.err" &
pid=$!
track_pid "$pid"
copying=
for ((i = 0; i < 300; i++)); do
    copying=$(q "$URL_B" "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'apibench-seed'
        AND query LIKE 'COPY readings%'")
    [ "$copying" = 1 ] && break
    sleep 0.1
done
check '[ "$copying" = 1 ]' "the scale 20 seed reached the readings COPY"
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
check '[ $rc = 130 ] && grep -q "^apibench seed: interrupted$" "$out/b7.err"' "Ctrl-C exits 130 saying interrupted (rc $rc)"
info=$(q "$URL_B" "SELECT scale || ' ' || seed || ' ' || complete FROM seed_info")
check '[ "$info" = "1 1 true" ]' "the interrupted load rolled back to the previous seed: $info"
check '[ "$(dump "$URL_B")" = "$dump_a" ]' "the previous data is intact"

# --- a seed from before readings.id had a sequence, with an ingest that took max(id) + 1,
# gets the sequence on the next (skipped) seed, started after that ingest
q "$URL_B" "ALTER TABLE readings ALTER COLUMN id DROP IDENTITY" >/dev/null
q "$URL_B" "INSERT INTO readings VALUES (500001, 1, now(), 20, 40, 80, -60)" >/dev/null
seed_ok "$out/b8" --scale 1 --seed 1 --database-url "$URL_B"
check 'grep -q "skipping" "$out/b8" && grep -q "adding the identity sequence" "$out/b8"' "the old seed is kept and given its sequence"
next=$(q "$URL_B" "INSERT INTO readings (device_id, \"timestamp\", temperature, humidity, battery, rssi)
    VALUES (1, now(), 20, 40, 80, -60) RETURNING id")
check '[ "$next" = 500002 ]' "the next ingest gets the id after the largest present: $next"
seed_ok "$out/b9" --scale 1 --seed 1 --database-url "$URL_B"
check '! grep -q "adding the identity" "$out/b9"' "a seed with its sequence is left alone"

# --- bad input: one line on stderr, non-zero exit
bad() {
    local want=$1 rc
    shift
    set +e
    "$APIBENCH" "$@" >/dev/null 2>"$out/bad.err"
    rc=$?
    set -e
    check '[ $rc = "$want" ] && [ "$(wc -l <"$out/bad.err")" = 1 ]' \
        "apibench $* exits $want with one line (rc $rc: $(cat "$out/bad.err"))"
}
bad 2 seed --bogus --database-url "$URL_A"
bad 2 seed --scale abc --database-url "$URL_A"
bad 2 seed --scale -1 --database-url "$URL_A"
bad 2 seed --scale 0 --database-url "$URL_A"
bad 2 seed --scale 99999999999999999999 --database-url "$URL_A"
bad 2 seed --scale 1001 --database-url "$URL_A"
bad 2 seed --scale " 5" --database-url "$URL_A"
bad 2 seed --seed 0 --database-url "$URL_A"
bad 2 seed --seed 1x --database-url "$URL_A"
bad 2 seed --seed 9223372036854775808 --database-url "$URL_A"
bad 2 seed --scale
bad 2 seed --copy-format csv --database-url "$URL_A"
bad 2 keys --seed -4
bad 2 freshen --scale 1 --database-url "$URL_A"
bad 1 seed --scale 1 --database-url "postgresql://apibench@127.0.0.1:1/apibench"
check 'grep -q "^apibench seed: cannot connect to postgres at postgresql://apibench@127.0.0.1:1/apibench: " "$out/bad.err"' \
    "an unreachable postgres is named in the error"
bad 1 freshen --database-url "postgresql://apibench@127.0.0.1:1/apibench"
set +e
env -u DATABASE_URL "$APIBENCH" seed --scale 1 >/dev/null 2>"$out/bad.err"
rc=$?
set -e
check '[ $rc = 2 ] && grep -q "no database" "$out/bad.err"' "no DATABASE_URL and no --database-url is a usage error"

# --- freshen: data seeded "two days ago" is moved up to now, its content unchanged
"$PSQL" -X -q -v ON_ERROR_STOP=1 "$URL_A" >/dev/null <<'SQL'
BEGIN;
UPDATE readings SET "timestamp" = "timestamp" - interval '2 days';
UPDATE devices SET installed_at = installed_at - interval '2 days', last_seen_at = last_seen_at - interval '2 days';
UPDATE sites SET created_at = created_at - interval '2 days';
UPDATE users SET created_at = created_at - interval '2 days';
UPDATE api_keys SET created_at = created_at - interval '2 days';
UPDATE seed_info SET anchor = anchor - interval '2 days';
COMMIT;
SQL
stale=$(q "$URL_A" "SELECT count(*) FROM readings WHERE \"timestamp\" > now() - interval '1 day'")
check '[ "$stale" = 0 ]' "the aged data has no reading in the last day"
"$APIBENCH" freshen --database-url "$URL_A" >"$out/f1" 2>&1 || { cat "$out/f1" >&2; fail "freshen failed"; }
check 'grep -q "^freshened: moved the seeded timestamps forward by 2 d" "$out/f1"' "freshen says how far it moved ($(tail -1 "$out/f1"))"
lag=$(q "$URL_A" "SELECT extract(epoch FROM now() - max(\"timestamp\"))::int FROM readings")
check '[ "$lag" -ge 0 ] && [ "$lag" -lt 1800 ]' "after freshen the newest reading is minutes old ($lag s)"
anchor_lag=$(q "$URL_A" "SELECT extract(epoch FROM now() - anchor)::int FROM seed_info")
check '[ "$anchor_lag" -lt 120 ]' "freshen moved the anchor to now ($anchor_lag s ago)"
check '[ "$(dump "$URL_A")" = "$dump_a" ]' "freshen keeps the data identical relative to the anchor"
keys=$(q "$URL_A" "SELECT count(*) FILTER (WHERE contype = 'p') || ' ' || count(*) FILTER (WHERE contype = 'f')
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace")
check '[ "$keys" = "7 6" ]' "freshen keeps the keys: $keys"
"$APIBENCH" freshen --database-url "$URL_A" >"$out/f2" 2>&1 || fail "second freshen failed"
check 'grep -q "data is fresh" "$out/f2"' "a second freshen has nothing to do"
check '[ "$(q "$URL_A" "SELECT checksum FROM seed_info")" = "$sum_a" ]' "the stored checksum is unchanged"

note "ok"
