# make_run_fixture.py DIR - writes the hand-made results folder that
# tests/unit/harness/test_report.c reads (run_fixture/), in scripts/reproduce's layout
# (docs/RESULTS.md): generator/, calibration/, builds/NAME/ with repeat-1 and repeat-2.
# Its figures are fictional, chosen so that every derived number is easy to check by hand;
# they are not measurements. What it holds:
#   01-baseline  fails the SLO at the common rate (no capacity search: [0, 4]) and cannot
#                hold 167 req/s: timeouts and backlog, latency growing with time
#   03-cache     holds 167 req/s; capacity brackets [800, 830] and [760, 790] (medians 780, 810)
#   05-gzip      failed to start
#   06-async     reaches the generator's gzip ceiling (20000 req/s): limited by the generator
#   rm -rf run_fixture && python3 make_run_fixture.py run_fixture
import json, os, sys
root = sys.argv[1]
os.makedirs(root, exist_ok=True)
open(f"{root}/run.info","w").write("""format=apibench-reproduce/1
id=fixture-run
started_at=2026-01-01T00:00:00Z
finished_at=2026-01-01T00:10:00Z
partial=0
quick=0
mode=default
scale=1
seed=1
mix=harness/mixes/default.json
common_rate=4
rate_source=calibrated
warmup_s=2
phase_s=5
repeat=2
article_rate=167
article_s=20
overload_s=12
article_timeout_ms=10000
capacity_timeout_ms=10000
slo_p99_ms=500
calibration_p99_ms=10000
capacity_tolerance=1.05
capacity_min_s=5
capacity_min_requests=2000
ceiling_lag_ms=1
cpu_placement=shared
generator_cpus=
server_cpus=
instances=1
pgbouncer=0
hostname=fixture-host
cpu_model=Fixture CPU
cores=2
memory_bytes=1000000000
kernel=6.1.0-fixture
postgres_version=15.0
redis_version=7.0.0
builds=01-baseline,03-cache,05-gzip,06-async
""")

def dump(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

def prom(req, q, conn, l1h, l1m, l2h, l2m, rend, sent, cpu_s=None):
    text = f"""# HELP http_requests_total x
# TYPE http_requests_total counter
http_requests_total{{route="latest",status="200"}} {req}
http_requests_total{{route="metrics",status="200"}} 7
http_requests_total{{route="healthz",status="200"}} 3
apibench_db_queries_total {q}
apibench_db_connections_opened_total {conn}
apibench_cache_lookups_total{{level="l1",result="hit"}} {l1h}
apibench_cache_lookups_total{{level="l1",result="miss"}} {l1m}
apibench_cache_lookups_total{{level="l2",result="hit"}} {l2h}
apibench_cache_lookups_total{{level="l2",result="miss"}} {l2m}
apibench_cache_lookups_total{{level="l2",result="error"}} 0
apibench_response_bytes_total{{stage="rendered"}} {rend}
apibench_response_bytes_total{{stage="sent"}} {sent}
"""
    if cpu_s is not None:
        text += f"process_cpu_seconds_total {cpu_s}\n"
    return text

def lat(count, mean, p99, mx=None):
    return {"count": count, "mean_ms": mean, "stdev_ms": 1, "min_ms": mean/2, "p50_ms": mean,
            "p90_ms": (mean+p99)/2, "p99_ms": p99, "p999_ms": p99, "p9999_ms": p99,
            "max_ms": mx if mx is not None else p99*1.5}

def runjson(mean, p99, rate, achieved, completed, errors=None, measured_s=5, due=None,
            answered=None, timeline=None, lag_p99=0.1):
    errors = errors or {}
    kinds = {k: errors.get(k, 0) for k in
             ("connect", "timeout", "http_4xx", "http_5xx", "other", "backlog", "unsent")}
    total = sum(kinds.values())
    kinds["total"] = total
    due = due if due is not None else completed + total
    r = {"format": "apibench-run/1", "partial": False, "label": "x",
         "environment": {"hostname": "fixture-host", "cores": 2},
         "intended_rate": rate, "achieved_rate": achieved, "measured_s": measured_s,
         "due": due, "sent": due - kinds["backlog"] - kinds["unsent"], "completed": completed,
         "errors": kinds, "error_rate": total / max(due, 1),
         "latency": lat(completed + total, mean, p99),
         "latency_answered": answered or lat(completed, mean, p99),
         "send_lag": lat(completed, lag_p99 / 2, lag_p99)}
    if timeline is not None:
        r["timeline"] = timeline
    return r

def snap(wall_s, server, pg, calls, t0=1):
    w0 = t0 * 1000000000
    def one(w, s, p, c):
        return (f"wall_ns={w}\nclk_tck=100\ncores=2\nserver_ticks={s}\nworker_ticks=0\n"
                f"pg_ticks={p}\nmachine_busy_ticks={s+p}\nmachine_total_ticks={w//5000000}\n"
                f"pgss_calls={c}\n")
    return one(w0, 500, 900, 5000), one(w0 + wall_s * 1000000000, 500 + server, 900 + pg, 5000 + calls)

hgrm = """       Value     Percentile TotalCount 1/(1-Percentile)

%s
#[Mean    =        1.000, StdDeviation   =        0.100]
#[Max     =        2.000, Total count    =           20]
#[Buckets =           27, SubBuckets     =         2048]
"""
def spectrum(base):
    rows = []
    for p, k in [(0.0,1),(0.5,10),(0.9,18),(0.99,20),(1.0,20)]:
        v = base * (1 + 3*p)
        inv = "" if p == 1.0 else f"{1/(1-p):14.2f}"
        rows.append(f"{v:12.3f} {p:14.12f} {k:10d} {inv}")
    return hgrm % "\n".join(rows)

def phase(d, prefix, run, req, q, conn, cache, rend, sent, wall_s, ticks, cpu_s=None):
    """A measured phase: the run file and the snapshots around it."""
    dump(run, f"{d}/{'load' if prefix == '' else 'article'}.json")
    l1h, l1m, l2h, l2m = cache
    write(f"{d}/{prefix}metrics.before.prom", prom(100, 1000, 50, 0, 0, 0, 0, 1000, 1000,
                                                    None if cpu_s is None else 10))
    write(f"{d}/{prefix}metrics.after.prom", prom(100 + req, 1000 + q, 50 + conn, l1h, l1m, l2h,
                                                   l2m, 1000 + rend, 1000 + sent,
                                                   None if cpu_s is None else 10 + cpu_s))
    before, after = snap(wall_s, ticks[0], ticks[1], q)
    write(f"{d}/{prefix}snap.before", before)
    write(f"{d}/{prefix}snap.after", after)

def probe(n, offered, achieved, p50, p99, holds, phase_, why=""):
    return {"n": n, "offered": offered, "achieved": achieved,
            "requests": int(max(2000, offered * 5)), "duration_s": max(5.0, 2000 / offered),
            "p50_ms": p50, "p99_ms": p99, "mean_ms": (p50 + p99) / 3, "error_rate": 0.0,
            "lag_p99_ms": 0.2, "holds": holds, "why": why or ("holds" if holds else "p99 >= 500 ms"),
            "file": f"probe-{n:02d}.json", "phase": phase_}

def capacity(lower, upper, limited_by, probes, ceiling=20000):
    return {"format": "apibench-capacity/1",
            "criteria": {"slo_p99_ms": 500, "max_error_rate": 0.01, "min_served": 0.95,
                         "max_lag_p99_ms": 0},
            "tolerance": 1.05, "ceiling_rps": ceiling, "lower": lower, "upper": upper,
            "limited_by": limited_by, "confirmed": True, "probes": probes}

# ---- the generator's own limits
gen = f"{root}/generator"
dump(capacity(25000, 26000, "slo", [probe(1, 25000, 25000, 0.2, 0.6, True, "exponential"),
                                    probe(2, 26000, 25100, 0.3, 3.0, False, "bisect")], None),
     f"{gen}/ceiling-identity/capacity.json")
dump(capacity(20000, 20900, "slo", [probe(1, 20000, 20000, 0.2, 0.7, True, "exponential"),
                                    probe(2, 20900, 20100, 0.3, 4.0, False, "bisect")], None),
     f"{gen}/ceiling-gzip/capacity.json")
dump(runjson(0.2, 0.5, 4, 4, 20, lag_p99=0.05), f"{gen}/floor-common.json")
write(f"{gen}/floor-common.latency.hgrm", spectrum(0.2))
dump(runjson(0.25, 0.8, 167, 167, 3340, measured_s=20, lag_p99=0.08), f"{gen}/floor-article.json")
write(f"{gen}/floor-article.latency.hgrm", spectrum(0.25))
write(f"{gen}/body.info", "identity_bytes=19500\ngzip_bytes=2400\npath=/headline.json\n")

# ---- the builds
def flat_timeline(seconds, rate, mean, mx):
    return [{"t_s": t, "due": rate, "responses": rate, "errors": 0, "mean_ms": mean,
             "max_ms": mx} for t in range(seconds)]

def overload_timeline(seconds, growth):
    # 167 due a second, 10 answered; the mean grows by `growth` ms a second (queueing)
    return [{"t_s": t, "due": 167, "responses": 10, "errors": 157,
             "mean_ms": 2000 + growth * t, "max_ms": 2500 + growth * t} for t in range(seconds)]

builds = {
    # common: (mean, p99) per repeat; article: per repeat
    "01-baseline": dict(common=[(2000, 3000), (2200, 3400)], q=300, conn=20, cache=(0, 0, 0, 0),
                        rend=200000, sent=200000, ticks=(40, 100), cap=None,
                        article=[dict(kind="overload", growth=2000), dict(kind="overload", growth=2200)]),
    "03-cache": dict(common=[(20, 60), (24, 80)], q=6, conn=3, cache=(15, 5, 2, 3),
                     rend=200000, sent=200000, ticks=(20, 10),
                     cap=[capacity(800, 830, "slo", [
                            probe(1, 167, 167, 2, 20, True, "known"),
                            probe(2, 334, 334, 2, 25, True, "exponential"),
                            probe(3, 668, 668, 3, 60, True, "exponential"),
                            probe(4, 1336, 900, 800, 4000, False, "exponential"),
                            probe(5, 945, 900, 300, 1500, False, "bisect"),
                            probe(6, 800, 800, 5, 200, True, "bisect"),
                            probe(7, 830, 825, 40, 700, False, "bisect"),
                            probe(8, 800, 800, 5, 210, True, "confirm")]),
                          capacity(760, 790, "slo", [
                            probe(1, 167, 167, 2, 22, True, "known"),
                            probe(2, 334, 334, 2, 26, True, "exponential"),
                            probe(3, 668, 668, 3, 70, True, "exponential"),
                            probe(4, 1336, 880, 900, 4200, False, "exponential"),
                            probe(5, 945, 890, 320, 1600, False, "bisect"),
                            probe(6, 790, 780, 50, 650, False, "bisect"),
                            probe(7, 760, 760, 6, 240, True, "bisect"),
                            probe(8, 760, 760, 6, 250, True, "confirm")])],
                     article=[dict(kind="held", mean=3, p99=20), dict(kind="held", mean=5, p99=30)]),
    "06-async": dict(common=[(5, 12), (6, 14)], q=4, conn=0, cache=(17, 3, 2, 1),
                     rend=200000, sent=60000, ticks=(10, 5),
                     cap=[capacity(20000, None, "generator", [
                            probe(i + 1, r, r, 1, 5 + i, True, "known" if i == 0 else "exponential")
                            for i, r in enumerate([167, 334, 668, 1336, 2672, 5344, 10688, 20000])])] * 2,
                     article=[dict(kind="held", mean=2, p99=8), dict(kind="held", mean=3.5, p99=9)]),
}
for name, b in builds.items():
    d = f"{root}/builds/{name}"
    write(f"{d}/status", "ok\n")
    write(f"{d}/timing.txt", "db;dur=10.0, cache;dur=0.5, render;dur=1.0, encode;dur=0.0\n"
                             "db;dur=20.0, cache;dur=1.5, render;dur=3.0, encode;dur=0.2\n")
    for k in (1, 2):
        rd = f"{d}/repeat-{k}"
        mean, p99 = b["common"][k - 1]
        phase(rd, "", runjson(mean, p99, 4, 4.0 if mean < 1000 else 3.9, 20), 20, b["q"], b["conn"],
              b["cache"], b["rend"], b["sent"], 5, b["ticks"])
        write(f"{rd}/load.latency.hgrm", spectrum(mean))
        a = b["article"][k - 1]
        if a["kind"] == "overload":
            # 12 s bounded: 2004 due, 120 answered, 84 timed out, 1800 never sent (backlog)
            tl = overload_timeline(12, a["growth"])
            run = runjson(20000 + 1000 * k, 30000, 167, 10.0, 120,
                          errors={"timeout": 84, "backlog": 1800}, measured_s=12, due=2004,
                          answered=lat(120, 9000 + 1000 * k, 25000), timeline=tl)
            # 120 API requests; server 0.6 s (process_cpu_seconds_total), Postgres 21.6 s of 24
            phase(rd, "article.", run, 120, 120 * 15, 120, b["cache"], 120 * 10000, 120 * 10000,
                  12, (60, 2160), cpu_s=0.6)
        else:
            tl = flat_timeline(20, 167, a["mean"], a["p99"] * 2)
            run = runjson(a["mean"], a["p99"], 167, 167.0, 3340, measured_s=20, timeline=tl)
            l1h, l1m, l2h, l2m = b["cache"]
            phase(rd, "article.", run, 3340, 3340 * b["q"] // 20, b["conn"] * 167,
                  (l1h * 167, l1m * 167, l2h * 167, l2m * 167), 3340 * 10000,
                  3340 * b["sent"] // 20, 20, (200, 100), cpu_s=1.67)
        write(f"{rd}/article.latency.hgrm", spectrum(a.get("mean", 20000)))
        if b["cap"] is not None:
            dump(b["cap"][k - 1], f"{rd}/capacity/capacity.json")
write(f"{root}/builds/05-gzip/status", "failed: exited with status 1 before /healthz answered\n")
write(f"{root}/builds/06-async/jobs.txt", "310\n320\n330\n900\n")
for off, ach, p99 in [(1,1,2500),(2,2,2600),(4,3.9,3000),(8,4,12000)]:
    dump(runjson(p99/2, p99, off, ach, int(ach*3), measured_s=3),
         f"{root}/calibration/sweep/rate-{off:08.2f}.json")
write(f"{root}/plans/headline-article-indexes.txt", """Limit  (cost=1.00..2.00 rows=100 width=40) (actual time=2100.000..2100.100 rows=100 loops=1)
  ->  Sort  (cost=1.00..2.00 rows=100 width=40)
        ->  Hash Join  (cost=1.00..2.00 rows=100 width=40)
              ->  Parallel Seq Scan on readings r  (cost=0.00..1.00 rows=100 width=30) (actual time=0.01..1500.0 rows=1 loops=3)
Planning Time: 0.300 ms
Execution Time: 2100.500 ms
""")
write(f"{root}/plans/headline-timestamp-index.txt", """Limit  (cost=1.00..2.00 rows=100 width=40) (actual time=0.100..30.000 rows=100 loops=1)
  ->  Nested Loop  (cost=1.00..2.00 rows=100 width=40)
        ->  Index Scan Backward using readings_timestamp_idx on readings r  (cost=0.43..1.00 rows=100 width=30)
Planning Time: 0.300 ms
Execution Time: 30.250 ms
""")
write(f"{root}/plans/01-baseline.txt", """Limit
  ->  Seq Scan on readings r  (cost=0.00..1.00 rows=100 width=30)
Execution Time: 2900.000 ms
""")
# the headline sample (10 sequential headline requests) and verify results, taken once
for name, q in {"01-baseline": 150, "03-cache": 2, "06-async": 1}.items():
    d = f"{root}/builds/{name}"
    write(f"{d}/sample.before.prom", 'http_requests_total{route="latest",status="200"} 200\napibench_db_queries_total 5000\n')
    write(f"{d}/sample.after.prom", f'http_requests_total{{route="latest",status="200"}} 210\napibench_db_queries_total {5000+q}\n')
    write(f"{d}/sample.before", "pgss_calls=9000\n")
    write(f"{d}/sample.after", f"pgss_calls={9000+q}\n")
    write(f"{d}/verify.status", "ok\n" if name != "03-cache" else "failed: FAIL fixture check\n")
