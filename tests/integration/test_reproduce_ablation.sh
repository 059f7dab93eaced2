#!/usr/bin/env bash
# test_reproduce_ablation.sh - scripts/reproduce --ablation --quick end to end on a scale-1
# database of its own (builds on ports 26108 and 26113, nginx on 26197): 01-baseline,
# 06-async and the ten compositions of apibench-server. Then checks:
#   - every build ran and passed apibench verify;
#   - each composition ran as itself: its /metrics build label was its label, and its
#     saved --needs composition is the one its label names;
#   - what the run needed came from --needs, not from the name: the job latency (the
#     worker) is measured for exactly the builds whose jobs go through the queue, and the
#     plan of each build shows its own query set (naive or optimised);
#   - summary.json's ablation block matched each role to its build and ranks the five
#     optimisations on the three figures, both ways; report.md holds the section and
#     the ranking; plots/ablation.png and .svg exist and are valid.
# Timing is not asserted.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
require_bin apibench-server >/dev/null
fresh_db apibench_t_reproduce_ablation >/dev/null
on_exit 'drop_db apibench_t_reproduce_ablation'

tmp=$(mktemp -d /tmp/apibench-reproduce-ablation.XXXXXX)
on_exit "rm -rf '$tmp'"
run=$tmp/run

# --ablation refuses what it cannot do, before any work
if "$SOURCE_DIR/scripts/reproduce" --ablation --quick --builds 06,07 --out "$tmp/bad" >"$tmp/bad.log" 2>&1; then
    fail "--ablation --builds with an unknown build was not refused"
fi
check 'grep -q "unknown build .07." "$tmp/bad.log"' "the refusal names the unknown build"
if "$SOURCE_DIR/scripts/reproduce" --ablation --target http://127.0.0.1:1 --out "$tmp/bad2" >"$tmp/bad2.log" 2>&1; then
    fail "--ablation --target was not refused"
fi

note "scripts/reproduce --ablation --quick into $run"
t0=$(date +%s)
if ! DATABASE_URL=$T_DATABASE_URL APP_DATABASE_URL=$T_APP_DATABASE_URL \
    WORKER_DATABASE_URL=$T_WORKER_DATABASE_URL APIBENCH_BUILD_DIR=$BUILD_DIR \
    APIBENCH_PORT_BASE=26107 "$SOURCE_DIR/scripts/reproduce" --ablation --quick --out "$run" >"$tmp/out.log" 2>&1; then
    tail -n 40 "$tmp/out.log"
    fail "scripts/reproduce --ablation --quick failed"
fi
note "the run took $(($(date +%s) - t0)) s"
check '[ -s "$run/summary.json" ] && [ -s "$run/report.md" ]' "the run wrote summary.json and report.md"

check '[ "$(head -c 8 "$run/plots/ablation.png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]' \
    "plots/ablation.png is a PNG"
if command -v xmllint >/dev/null; then
    check 'xmllint --noout "$run/plots/ablation.svg"' "plots/ablation.svg is well-formed XML"
fi
check 'grep -q "<svg" "$run/plots/ablation.svg" && grep -q "</svg>" "$run/plots/ablation.svg"' \
    "plots/ablation.svg is an SVG document"

python3 - "$run" <<'EOF' || fail "the ablation run does not hold what it should (see above)"
import json, os, re, sys

run = sys.argv[1]
s = json.load(open(run + "/summary.json"))
md = open(run + "/report.md").read()
problems = []
opts = {"indexes": ("queries", "optimised", "naive"), "cache": ("cache", "tiered", "none"),
        "pool": ("connections", "pool", "per-request"), "gzip": ("encoder", "gzip", "identity"),
        "queue": ("jobs", "queue", "inline")}

def composition_of(label):
    """The composition a label names (what the script asked apibench-server for)."""
    on = set(opts) if label.startswith("06-") else set()
    m = re.match(r"0[16]-(minus|plus)-(\w+)$", label)
    if m:
        (on.discard if m.group(1) == "minus" else on.add)(m.group(2))
    return {opts[o][0]: opts[o][1] if o in on else opts[o][2] for o in opts}

want = ["01-baseline"] + ["01-plus-" + o for o in ("cache", "pool", "gzip", "queue")] + ["06-async"] + \
       ["06-minus-" + o for o in ("cache", "pool", "gzip", "queue")] + ["01-plus-indexes", "06-minus-indexes"]
names = [b["build"] for b in s["builds"]]
if names != want:
    problems.append("builds in summary.json: %s" % names)
for b in s["builds"]:
    name = b["build"]
    if b["status"] != "ok":
        problems.append("%s: %s %s" % (name, b["status"], b.get("reason", "")))
        continue
    if b.get("verify") != "ok":
        problems.append("%s: apibench verify: %s" % (name, b.get("verify")))
    # the server that answered was this composition: its /metrics build label
    prom = open("%s/builds/%s/repeat-1/metrics.after.prom" % (run, name)).read()
    labels = set(re.findall(r'^apibench_build_info\{[^}]*build="([^"]*)"', prom, re.M))
    if labels != {name}:
        problems.append("%s: /metrics build label %s" % (name, sorted(labels)))
    if b.get("composition") != composition_of(name):
        problems.append("%s: composition %s, its label names %s" % (name, b.get("composition"), composition_of(name)))
    # the worker ran for exactly the builds whose jobs are queued (--needs), and no other
    queued = composition_of(name)["jobs"] == "queue"
    if queued != os.path.exists("%s/builds/%s/jobs.txt" % (run, name)):
        problems.append("%s: jobs %s but job latency %s" % (name, composition_of(name)["jobs"],
                        "measured" if not queued else "not measured"))
    # its plan is of its own query set
    plan = open("%s/plans/%s.txt" % (run, name)).read()
    naive = composition_of(name)["queries"] == "naive"
    if ("OFFSET 0" in plan) != naive:
        problems.append("%s: the plan is not of its %s query set" % (name, composition_of(name)["queries"]))

ab = s.get("ablation")
if not isinstance(ab, dict):
    problems.append("summary.json has no ablation block: %r" % ab)
else:
    roles = {c["role"]: c["build"] for c in ab["compositions"]}
    expect = {"final": "06-async", "baseline": "01-baseline"}
    for o in opts:
        expect["minus-" + o] = "06-minus-" + o
        expect["plus-" + o] = "01-plus-" + o
    if roles != expect:
        problems.append("ablation roles: %s" % roles)
    for design in ("leave_one_out", "add_one"):
        for fig in ("mean_ms", "p99_ms", "capacity_rps"):
            r = ab["ranking"][design][fig]
            if sorted(r) != sorted(opts):
                problems.append("ranking %s %s: %s" % (design, fig, r))
            print("%-13s %-12s %s" % (design, fig, " > ".join(r)))
    for e in ab["effects"]:
        for fig in ("mean_ms", "p99_ms", "capacity_rps"):
            if not isinstance(e["leave_one_out"][fig]["value"], (int, float)):
                problems.append("%s: no leave-one-out effect on %s" % (e["optimisation"], fig))
    if ab["noise"]["repeats"] != 1:
        problems.append("noise: %r" % ab["noise"])
for needle in ("## Ablation: which optimisation matters", "### Ranking by effect in the final build",
               "### Ranking by effect alone", "### Interactions", "plots/ablation.png",
               "Noise range (one repeat"):
    if needle not in md:
        problems.append("report.md does not hold %r" % needle)
for p in problems:
    print("PROBLEM: " + p)
sys.exit(1 if problems else 0)
EOF
note "ok: report in $run/report.md"
