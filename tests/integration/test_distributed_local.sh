#!/usr/bin/env bash
# test_distributed_local.sh - scripts/distributed-run --local 2: two segments of one
# schedule, started together on this machine through the same steps as over ssh (binary
# check and copy, one start time, collection, apibench merge), against a cheap server
# (apibench-delay-server: 5 ms per request, 16 at a time, port 26650) at a modest 200 req/s
# for 5 s. Checks that:
#   - the merged request count is the sum of the segments' and equals a single
#     generator's run of the same schedule (1000 requests), and each segment sent half;
#   - the merged p50 and p99 match the single run's within the noise of this shared
#     machine: p50 within 30% or 2 ms, p99 within a factor of 3 or 10 ms (the server's
#     5 ms dominates p50; p99 is the tail of a loaded 2-core VM);
#   - the merged result records both segments and their clocks, the temporary folder the
#     "hosts" used is removed, and --segment given to the script is refused.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port=26650
delay_server=$BUILD_DIR/tests/apibench-delay-server
apibench=$(require_bin apibench)
[ -x "$delay_server" ] || fail "missing $delay_server (build first)"
tmp=$(mktemp -d /tmp/apibench-distributed.XXXXXX)
on_exit "rm -rf '$tmp'"

"$delay_server" --port "$port" --delay-ms 5 --threads 16 >"$tmp/server.log" 2>&1 &
track_pid "$!"
wait_port "$port" 10 || fail "the delay server did not start: $(tail -n 1 "$tmp/server.log")"

load=(--target "http://127.0.0.1:$port" --path /x --rate 200 --duration 5 --warmup 0 --seed 7 --quiet)

check '! "$SOURCE_DIR/scripts/distributed-run" --local 2 --out "$tmp/bad" "${load[@]}" --segment 0/2 >"$tmp/bad.log" 2>&1' \
    "--segment in the run options is refused"
check 'grep -q "set by distributed-run" "$tmp/bad.log"' "the refusal says why"

note "one generator"
"$apibench" run "${load[@]}" --out "$tmp/single" >"$tmp/single.log" 2>&1 ||
    fail "the single run failed: $(tail -n 3 "$tmp/single.log")"
note "two segments through scripts/distributed-run --local 2"
{ compgen -G "/tmp/apibench-dist.*" || true; } | sort >"$tmp/dist-before"
APIBENCH_BUILD_DIR=$BUILD_DIR "$SOURCE_DIR/scripts/distributed-run" --local 2 --start-in 2 \
    --out "$tmp/merged" "${load[@]}" >"$tmp/merged.log" 2>&1 ||
    fail "distributed-run failed: $(tail -n 5 "$tmp/merged.log")"
{ compgen -G "/tmp/apibench-dist.*" || true; } | sort >"$tmp/dist-after"
check 'cmp -s "$tmp/dist-before" "$tmp/dist-after"' "the hosts' temporary folder is removed"
check '[ -s "$tmp/merged.latency.hlog" ] && [ -s "$tmp/merged.segments/seg-0.json" ] && [ -s "$tmp/merged.segments/seg-1.json" ]' \
    "the merged result and both segments' files are there"

python3 - "$tmp" <<'EOF' || fail "the merged run does not match the single run (see above)"
import json, sys

d = sys.argv[1]
single = json.load(open(d + "/single.json"))
merged = json.load(open(d + "/merged.json"))
segs = [json.load(open("%s/merged.segments/seg-%d.json" % (d, i))) for i in range(2)]
problems = []

def lat(r, key):
    return r["latency"][key]

counts = [lat(s, "count") for s in segs]
print("requests: single %d, merged %d, segments %s" % (lat(single, "count"), lat(merged, "count"), counts))
if lat(merged, "count") != sum(counts):
    problems.append("merged count %d != sum of the segments' %d" % (lat(merged, "count"), sum(counts)))
if lat(merged, "count") != lat(single, "count") or lat(single, "count") != 1000:
    problems.append("merged count %d, single %d, schedule 1000" % (lat(merged, "count"), lat(single, "count")))
if any(abs(c - 500) > 1 for c in counts):
    problems.append("the segments' shares are not halves: %s" % counts)
if merged["errors"]["total"] != sum(s["errors"]["total"] for s in segs):
    problems.append("errors do not add up")
for p, rel, absolute in (("p50_ms", 0.30, 2.0), ("p99_ms", 2.0, 10.0)):
    a, b = lat(single, p), lat(merged, p)
    print("%s: single %.3f ms, merged %.3f ms" % (p, a, b))
    # p50: |a - b| <= max(30%, 2 ms); p99: within a factor of 3 (b <= 3a and a <= 3b) or 10 ms
    if abs(a - b) > max(rel * min(a, b), absolute):
        problems.append("%s differs beyond the stated noise: single %.3f, merged %.3f" % (p, a, b))
m = merged.get("merged") or {}
if m.get("runs") != 2 or [s.get("index") for s in m.get("segments", [])] != [0, 1]:
    problems.append("merged.json does not record the two segments: %r" % m)
if len(m.get("clocks", [])) != 2:
    problems.append("merged.json does not record both clocks")
for p in problems:
    print("PROBLEM: " + p)
sys.exit(1 if problems else 0)
EOF
note "ok"
