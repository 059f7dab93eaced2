#!/usr/bin/env bash
# test_reproduce_quick.sh - the whole reproduction, end to end, in --quick mode: seed a
# scale-1 database of its own, measure the six builds (on ports 18901..18906), report.
# Then check what the report claims against what was measured:
#   - every build ran, passed apibench verify, and has every metric in summary.json (job
#     latency: 06-async only);
#   - every plot exists as a valid PNG (magic bytes) and SVG (xmllint, or <svg ... </svg>);
#   - each row of report.md's measured table shows summary.json's values;
#   - the server's query counter and pg_stat_statements agree on queries per request,
#     within 2% (REPORT_QPR_TOLERANCE), over the whole mix and over the headline sample;
#   - both load points: every build measured at the article's 167 req/s (with CPU per
#     request), a capacity bracket from a search (lower < upper within the tolerance, or
#     limited by the generator at its ceiling, or below the lightest load), the
#     generator's ceiling and floor, the CPU placement, and the plots that show them.
# Timing is not asserted: the figures are printed, not judged.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
fresh_db apibench_t_reproduce_quick >/dev/null
on_exit 'drop_db apibench_t_reproduce_quick'

tmp=$(mktemp -d /tmp/apibench-reproduce-quick.XXXXXX)
on_exit "rm -rf '$tmp'"
run=$tmp/run

note "scripts/reproduce --quick into $run"
if ! DATABASE_URL=$T_DATABASE_URL APP_DATABASE_URL=$T_APP_DATABASE_URL \
    WORKER_DATABASE_URL=$T_WORKER_DATABASE_URL APIBENCH_BUILD_DIR=$BUILD_DIR \
    APIBENCH_PORT_BASE=18900 "$SOURCE_DIR/scripts/reproduce" --quick --out "$run" >"$tmp/out.log" 2>&1; then
    tail -n 40 "$tmp/out.log"
    fail "scripts/reproduce --quick failed"
fi
check '[ -s "$run/summary.json" ] && [ -s "$run/report.md" ] && [ -s "$run/steps.log" ]' \
    "the run wrote summary.json, report.md and steps.log"

# A second run into the same folder must refuse rather than overwrite it.
if "$SOURCE_DIR/scripts/reproduce" --quick --out "$run" >"$tmp/again.log" 2>&1; then
    fail "a second run into an existing results folder was not refused"
fi
check 'grep -q "never overwritten" "$tmp/again.log"' "the refusal says why"

# Plots: PNG magic bytes, and well-formed SVG.
for p in progression spectra capacity_achieved capacity_p99 timing bytes latency_throughput capacity overload; do
    check '[ "$(head -c 8 "$run/plots/$p.png" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]' \
        "plots/$p.png is a PNG"
    if command -v xmllint >/dev/null; then
        check 'xmllint --noout "$run/plots/$p.svg"' "plots/$p.svg is well-formed XML"
    fi
    check 'grep -q "<svg" "$run/plots/$p.svg" && grep -q "</svg>" "$run/plots/$p.svg"' \
        "plots/$p.svg is an SVG document"
done

python3 - "$run" <<'EOF' || fail "summary.json and report.md do not hold what they should (see above)"
import json, math, re, sys

run = sys.argv[1]
s = json.load(open(run + "/summary.json"))
md = open(run + "/report.md").read()
problems = []

def get(obj, path):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj

# every build, every metric
metrics = ["latency_ms.mean", "latency_ms.p50", "latency_ms.p90", "latency_ms.p99",
           "latency_ms.max", "db_queries_per_request.server",
           "db_queries_per_request.pg_stat_statements",
           "headline_sample.db_queries_per_request.server",
           "headline_sample.db_queries_per_request.pg_stat_statements",
           "cache_hit_rate.l1", "cache_hit_rate.l2", "cache_hit_rate.overall",
           "cpu.server_pct", "cpu.postgres_pct", "errors.rate", "errors.timeout",
           "errors.connect", "errors.http_4xx", "errors.http_5xx", "errors.other",
           "bytes_per_response.rendered", "bytes_per_response.sent", "throughput_rps",
           "connections_opened_per_request", "server_timing_ms.db"]
names = [b["build"] for b in s["builds"]]
if names != ["01-baseline", "02-indexes", "03-cache", "04-pool", "05-gzip", "06-async"]:
    problems.append("builds in summary.json: %s" % names)
for b in s["builds"]:
    if b["status"] != "ok":
        problems.append("%s: %s %s" % (b["build"], b["status"], b.get("reason", "")))
        continue
    if b.get("verify") != "ok":
        problems.append("%s: apibench verify: %s" % (b["build"], b.get("verify")))
    for m in metrics:
        v = get(b, m)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            problems.append("%s: %s missing (%r)" % (b["build"], m, v))
    if b["build"].startswith("06"):
        for m in ("jobs.latency_p50_ms", "jobs.latency_p99_ms"):
            if not isinstance(get(b, m), (int, float)):
                problems.append("06-async: %s missing" % m)
        if (get(b, "jobs.count") or 0) < 1:
            problems.append("06-async: no report job was measured")

# the two sources of queries per request agree (2%, as REPORT_QPR_TOLERANCE)
for b in s["builds"]:
    for where in ("db_queries_per_request", "headline_sample.db_queries_per_request"):
        a, p = get(b, where + ".server"), get(b, where + ".pg_stat_statements")
        if isinstance(a, (int, float)) and isinstance(p, (int, float)):
            if abs(a - p) > 0.02 * max(a, p, 1e-9):
                problems.append("%s: %s server %.3f vs pg_stat_statements %.3f" % (b["build"], where, a, p))
            print("%-12s %-40s server %7.3f  pg_stat_statements %7.3f" % (b["build"], where, a, p))

# report.md's measured table shows summary.json's values (formatted as report_fmt does)
def fmt(v, kind):
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return "n/a"
    return {"m": "%.1f" % v, "q": "%.2f" % v, "r": "%.2f" % v, "p": "%.1f%%" % (v * 100),
            "c": "%.2f%%" % v}.get(kind, "%.0f" % v)

rows = {"Response time mean (ms)": ("latency_ms.mean", "m"),
        "Response time p99 (ms)": ("latency_ms.p99", "m"),
        "DB queries/headline request (server counter)": ("headline_sample.db_queries_per_request.server", "q"),
        "DB queries/request, whole mix (server counter)": ("db_queries_per_request.server", "q"),
        "DB queries/request, whole mix (pg_stat_statements)": ("db_queries_per_request.pg_stat_statements", "q"),
        "Cache hit rate overall": ("cache_hit_rate.overall", "p"),
        "Server CPU (% of machine)": ("cpu.server_pct", "c"),
        "Postgres CPU (% of machine)": ("cpu.postgres_pct", "c"),
        "Error rate": ("errors.rate", "p"),
        "Throughput (req/s)": ("throughput_rps", "r"),
        "Bytes/response sent": ("bytes_per_response.sent", "b")}
table = md.split("## Every build, measured", 1)[-1].split("\n## ", 1)[0]
found = 0
for line in table.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if cells and cells[0] in rows:
        found += 1
        path, kind = rows[cells[0]]
        want = [fmt(get(b, path), kind) for b in s["builds"]]
        if cells[1:] != want:
            problems.append("report.md row %r: %s, summary.json: %s" % (cells[0], cells[1:], want))
if found != len(rows):
    problems.append("report.md's measured table has %d of the %d checked rows" % (found, len(rows)))
# the article's table: before = 01, after = 06
for label, path, kind in (("Response time mean (ms)", "latency_ms.mean", "m"),):
    m = re.search(r"^\| %s \| 2000 \| 50 \| [^|]+\| ([^|]+) \| ([^|]+) \|" % re.escape(label), md, re.M)
    if not m or [m.group(1).strip(), m.group(2).strip()] != [fmt(get(s["builds"][0], path), kind), fmt(get(s["builds"][-1], path), kind)]:
        problems.append("the article's table row %r does not show 01 and 06's values" % label)

# the article's load, capacity brackets, the generator's limits (issue 9)
def isnum(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

info = dict(l.split("=", 1) for l in open(run + "/run.info").read().splitlines() if "=" in l)
tol = float(info.get("capacity_tolerance", "nan"))
g = s.get("generator") or {}
ceiling = {}
for enc in ("identity", "gzip"):
    v = get(g, "ceiling_rps." + enc)
    if not isnum(v) or v <= 0:
        problems.append("generator ceiling (%s body) missing: %r" % (enc, v))
    ceiling[enc] = v
for where in ("common", "article"):
    for m in ("p50", "p99", "count"):
        if not isnum(get(g, "floor_ms.%s.%s" % (where, m))):
            problems.append("generator floor at the %s rate: %s missing" % (where, m))
if get(s, "cpu_placement.mode") not in ("shared", "split"):
    problems.append("cpu_placement.mode: %r" % get(s, "cpu_placement.mode"))
for b in s["builds"]:
    if b["status"] != "ok":
        continue
    name = b["build"]
    for m in ("article_load.latency_ms.mean", "article_load.latency_ms.p99", "article_load.errors.rate",
              "article_load.cpu.server_pct", "article_load.cpu.postgres_pct",
              "article_load.cpu.server_us_per_request", "article_load.achieved_rps",
              "article_load.requests", "article_load.measured_s"):
        if not isnum(get(b, m)):
            problems.append("%s: %s missing (%r)" % (name, m, get(b, m)))
    if isnum(get(b, "article_load.due")) and isnum(get(b, "article_load.measured_s")):
        due = 167 * get(b, "article_load.measured_s")
        if abs(get(b, "article_load.due") - due) > 0.05 * due + 2:
            problems.append("%s: %s requests due at 167 req/s in %s s" % (name, get(b, "article_load.due"), get(b, "article_load.measured_s")))
    elif isnum(get(b, "article_load.measured_s")):
        problems.append("%s: article_load.due missing" % name)
    if b.get("repeats") != 1:
        problems.append("%s: repeats %r (quick mode measures once)" % (name, b.get("repeats")))
    cap = b.get("capacity") or {}
    lo, hi, lim = cap.get("lower"), cap.get("upper"), cap.get("limited_by")
    if lim not in ("slo", "generator") or not isnum(lo):
        problems.append("%s: capacity %r" % (name, cap))
    elif lim == "generator":
        enc = "gzip" if name[:2] in ("05", "06") else "identity"
        if hi is not None or not isnum(ceiling[enc]) or abs(lo - ceiling[enc]) > 1e-6 * ceiling[enc] + 1e-9:
            problems.append("%s: limited by the generator but lower %r upper %r, ceiling %r" % (name, lo, hi, ceiling[enc]))
    elif not isnum(hi) or not (hi > lo):
        problems.append("%s: capacity bracket [%r, %r]" % (name, lo, hi))
    elif lo > 0 and cap.get("converged", True) and hi / lo > tol + 1e-9:
        problems.append("%s: capacity bracket [%r, %r] wider than %s" % (name, lo, hi, tol))
for needle in ("167 req/s", "at least their timeout", "load generator"):
    if needle not in md:
        problems.append("report.md does not mention %r" % needle)

print("common rate: %s req/s (%s)" % (s["run"]["common_rate"], s["run"]["rate_source"]))
print("generator ceiling: identity %s, gzip %s req/s; floor p99 at 167 req/s %s ms" % (
    ceiling["identity"], ceiling["gzip"], get(g, "floor_ms.article.p99")))
for b in s["builds"]:
    print("%-12s mean %8s ms  p99 %8s ms  at 167 req/s: mean %8s ms, achieved %8s req/s  capacity [%s, %s] (%s)" % (
        b["build"], fmt(get(b, "latency_ms.mean"), "m"), fmt(get(b, "latency_ms.p99"), "m"),
        fmt(get(b, "article_load.latency_ms.mean"), "m"), fmt(get(b, "article_load.achieved_rps"), "r"),
        fmt(get(b, "capacity.lower"), "r"), fmt(get(b, "capacity.upper"), "r"), get(b, "capacity.limited_by")))
for p in problems:
    print("PROBLEM: " + p)
sys.exit(1 if problems else 0)
EOF
note "ok: $(grep -c '^' "$run/steps.log") steps logged, report in $run/report.md"
