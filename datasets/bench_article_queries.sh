#!/usr/bin/env bash
# bench_article_queries.sh - times the article's before and after queries
# (sql/queries/article_*.sql) on a seeded database with EXPLAIN (ANALYZE, BUFFERS) under
# three index sets: none, the article's two (sql/indexes_article.sql), and those plus the
# timestamp index (sql/index_headline.sql). Prints one line per run with the execution
# time; writes the plans to OUT_DIR when given. Drops the indexes it created at the end.
#
# usage: datasets/bench_article_queries.sh [--database-url URL] [--runs N] [--out DIR]
# Refuses to run when one of the indexes exists already (a build may be using it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
url=${DATABASE_URL:-}
runs=3
out=
while [ $# -gt 0 ]; do
    case $1 in
    --database-url) url=${2:?--database-url needs a value}; shift 2 ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_article_queries: unknown option '$1'" >&2; exit 2 ;;
    esac
done
[ -n "$url" ] || { echo "bench_article_queries: set DATABASE_URL or pass --database-url" >&2; exit 2; }
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "bench_article_queries: bad --runs '$runs'" >&2; exit 2; }
psql=(psql -X -q -At -v ON_ERROR_STOP=1 "$url")
indexes="devices_status_id_idx readings_device_id_timestamp_idx readings_timestamp_idx"

existing=$("${psql[@]}" -c "SELECT string_agg(indexname, ' ') FROM pg_indexes
    WHERE indexname IN ('devices_status_id_idx', 'readings_device_id_timestamp_idx',
                        'readings_timestamp_idx')")
if [ -n "$existing" ]; then
    echo "bench_article_queries: indexes already present ($existing); drop them first" >&2
    exit 1
fi
drop_indexes() {
    "${psql[@]}" -c "DROP INDEX IF EXISTS ${indexes// /, }" >/dev/null
}
trap drop_indexes EXIT
[ -z "$out" ] || mkdir -p "$out"

"${psql[@]}" -c "SELECT 'data: scale ' || scale || ', seed ' || seed || ', ' ||
    (SELECT count(*) FROM readings) || ' readings, readings heap ' ||
    pg_size_pretty(pg_relation_size('readings')) FROM seed_info"

# time_queries LABEL - runs each query $runs times and prints the execution times.
time_queries() {
    local label=$1 q i plan ms
    "${psql[@]}" -c "VACUUM ANALYZE devices, readings" >/dev/null
    for q in article_before article_after; do
        local times=()
        for ((i = 1; i <= runs; i++)); do
            plan=$("${psql[@]}" -c "EXPLAIN (ANALYZE, BUFFERS) $(grep -v '^--' "$here/sql/queries/$q.sql")")
            ms=$(sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p' <<<"$plan")
            times+=("$ms")
            [ -z "$out" ] || printf '%s\n' "$plan" >"$out/$label.$q.$i.plan.txt"
        done
        printf '%-16s %-15s execution ms: %s\n' "$label" "$q" "${times[*]}"
    done
}

time_queries no-indexes
"${psql[@]}" -f "$here/sql/indexes_article.sql" >/dev/null
time_queries article-indexes
"${psql[@]}" -f "$here/sql/index_headline.sql" >/dev/null
time_queries plus-timestamp
