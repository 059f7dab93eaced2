#!/usr/bin/env bash
# test_reproduce_instances.sh - scripts/reproduce --instances 2 --quick, on 04-pool and
# 06-async only (the two builds of the capacity against K), in a database of its own on
# ports 26601..26691. Checks that:
#   - both builds ran, and apibench verify passed against each instance (with an ingest
#     through the first: a cross-instance invalidation);
#   - the instances stood behind nginx (least_conn, upstream keep-alive, no access log) and
#     the load went through it: a capacity search ran (none without the balancer), and
#     each instance served a share of the queries;
#   - summary.json and report.md hold the capacity against K (k = 1 and 2) of both builds,
#     with invalidations received from the other instance only when there is one;
#   - --pgbouncer transaction is refused, naming the prepared statements;
#   - nothing is left listening on the run's ports.
# Figures are printed, not judged.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
fresh_db apibench_t_reproduce_instances >/dev/null
on_exit 'drop_db apibench_t_reproduce_instances'

tmp=$(mktemp -d /tmp/apibench-reproduce-instances.XXXXXX)
on_exit "rm -rf '$tmp'"
run=$tmp/run
base=26600

note "--pgbouncer transaction is refused"
if "$SOURCE_DIR/scripts/reproduce" --quick --pgbouncer transaction --out "$tmp/refused" >"$tmp/refused.log" 2>&1; then
    fail "--pgbouncer transaction was accepted"
fi
check 'grep -q "prepared statements" "$tmp/refused.log"' "the refusal names the prepared statements"
check '[ ! -e "$tmp/refused" ]' "the refused run made no results folder"

note "scripts/reproduce --quick --instances 2 --builds 04,06 into $run"
t0=$(date +%s)
if ! DATABASE_URL=$T_DATABASE_URL APP_DATABASE_URL=$T_APP_DATABASE_URL \
    WORKER_DATABASE_URL=$T_WORKER_DATABASE_URL APIBENCH_BUILD_DIR=$BUILD_DIR \
    APIBENCH_PORT_BASE=$base "$SOURCE_DIR/scripts/reproduce" --quick --instances 2 --builds 04,06 \
    --out "$run" >"$tmp/out.log" 2>&1; then
    tail -n 40 "$tmp/out.log"
    fail "scripts/reproduce --quick --instances 2 failed"
fi
note "the run took $(($(date +%s) - t0)) s"

conf=$run/builds/04-pool/balancer/nginx.conf
check '[ -s "$conf" ]' "the balancer's nginx.conf was written"
check 'grep -q "least_conn;" "$conf" && grep -q "keepalive 256;" "$conf" && grep -q "access_log off;" "$conf"' \
    "the upstream has least_conn and keep-alive, the access log is off"
check '[ "$(grep -c "server 127.0.0.1:" "$conf")" -eq 2 ]' "the upstream names both instances"
check 'grep -q "^balancer=nginx" "$run/run.info"' "run.info says where the balancer ran"
for p in $((base + 4)) $((base + 14)) $((base + 6)) $((base + 16)) $((base + 90)) $((base + 91)); do
    check '! ab_tcp_open 127.0.0.1 "$p"' "nothing is left listening on port $p"
done

python3 - "$run" <<'EOF' || fail "summary.json, report.md or the snapshots do not hold what they should (see above)"
import json, re, sys

run = sys.argv[1]
s = json.load(open(run + "/summary.json"))
md = open(run + "/report.md").read()
problems = []

names = [b["build"] for b in s["builds"]]
if names != ["04-pool", "06-async"]:
    problems.append("builds in summary.json: %s" % names)
for b in s["builds"]:
    if b["status"] != "ok":
        problems.append("%s: %s %s" % (b["build"], b["status"], b.get("reason", "")))
    if b.get("verify") != "ok":
        problems.append("%s: apibench verify: %s" % (b["build"], b.get("verify")))
    # the search drives one target: it runs only behind the balancer
    cap = b.get("capacity") or {}
    if not isinstance(cap.get("lower"), (int, float)) or not cap.get("probes"):
        problems.append("%s: no capacity bracket with --instances 2: %r" % (b["build"], cap))

def per_instance(path, name):
    """The value of metric name in each scrape of a concatenated /metrics file, in order."""
    vals = []
    for line in open(path):
        if line.startswith(name + " "):
            vals.append(float(line.split()[1]))
    return vals

block = s.get("scaling")
if not isinstance(block, dict):
    problems.append("summary.json has no scaling block: %r" % block)
else:
    for b in block["builds"]:
        ks = [p["k"] for p in b["points"]]
        if ks != [1, 2]:
            problems.append("%s: k values %s, expected [1, 2]" % (b["build"], ks))
        for p in b["points"]:
            c, inv = p["capacity"], p["invalidations"]
            print("%-9s k=%d capacity [%s, %s] (%s)  invalidations sent %s received %s  nginx CPU %s%%"
                  % (b["build"], p["k"], c["lower"], c["upper"], c["limited_by"], inv["sent"],
                     inv["received"], p["balancer_cpu_pct"]))
            if p["status"] != "ok":
                problems.append("%s k=%d: %s" % (b["build"], p["k"], p["status"]))
            # a search ran (its bracket is the machine's business: printed, not judged)
            if not isinstance(c["lower"], (int, float)) or c["probes"] < 1:
                problems.append("%s k=%d: no capacity search: %r" % (b["build"], p["k"], c))
            if not isinstance(inv["sent"], (int, float)) or inv["sent"] <= 0:
                problems.append("%s k=%d: no invalidation sent (the mix ingests)" % (b["build"], p["k"]))
            want_received = p["k"] > 1
            if not isinstance(inv["received"], (int, float)) or (inv["received"] > 0) != want_received:
                problems.append("%s k=%d: invalidations received %r" % (b["build"], p["k"], inv["received"]))
            if not isinstance(p["balancer_cpu_pct"], (int, float)) or p["balancer_cpu_pct"] <= 0:
                problems.append("%s k=%d: nginx's CPU not measured: %r" % (b["build"], p["k"], p["balancer_cpu_pct"]))
            # least_conn spread the load: each instance ran at least a tenth of the queries
            d = "%s/scaling/%s/k%d/" % (run, b["build"], p["k"])
            before = per_instance(d + "metrics.before.prom", "apibench_db_queries_total")
            after = per_instance(d + "metrics.after.prom", "apibench_db_queries_total")
            if len(before) != p["k"] or len(after) != p["k"]:
                problems.append("%s k=%d: %d/%d scrapes" % (b["build"], p["k"], len(before), len(after)))
                continue
            share = [a - b_ for a, b_ in zip(after, before)]
            print("          queries per instance during the search: %s" % share)
            if min(share) < 0.1 * sum(share):
                problems.append("%s k=%d: an instance ran too few of the queries: %s" % (b["build"], p["k"], share))

section = md.split("## Capacity against K instances", 1)
if len(section) != 2:
    problems.append("report.md has no capacity against K section")
else:
    rows = [l for l in section[1].split("\n## ", 1)[0].splitlines()
            if re.match(r"\| (04-pool|06-async) \| [12] \| ", l)]
    if len(rows) != 4:
        problems.append("report.md's capacity against K has %d rows, expected 4" % len(rows))

for p in problems:
    print("PROBLEM: " + p)
sys.exit(1 if problems else 0)
EOF
note "ok"
