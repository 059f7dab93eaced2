# make_run_fixture.py DIR - writes the hand-made results folder that
# tests/unit/harness/test_report.c reads (run_fixture/). Its figures are fictional, chosen so
# that every derived number is easy to check by hand; they are not measurements.
#   rm -rf run_fixture && python3 make_run_fixture.py run_fixture
import json, os, sys
root = sys.argv[1]
os.makedirs(root, exist_ok=True)
open(f"{root}/run.info","w").write("""format=apibench-reproduce/1
id=fixture-run
started_at=2026-01-01T00:00:00Z
finished_at=2026-01-01T00:10:00Z
partial=0
quick=1
scale=1
seed=1
mix=harness/mixes/default.json
common_rate=4
rate_source=calibrated
warmup_s=2
phase_s=5
sweep_step_s=3
sweep_factor=2
sweep_max_steps=3
sweep_start=1
slo_p99_ms=500
calibration_p99_ms=10000
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
def prom(req, q, conn, l1h, l1m, l2h, l2m, rend, sent):
    return f"""# HELP http_requests_total x
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
def runjson(mean, p99, rate, achieved, completed, errors=0):
    lat = {"count": completed, "mean_ms": mean, "stdev_ms": 1, "min_ms": mean/2, "p50_ms": mean,
           "p90_ms": (mean+p99)/2, "p99_ms": p99, "p999_ms": p99, "p9999_ms": p99, "max_ms": p99*1.5}
    return {"format": "apibench-run/1", "partial": False, "label": "x",
            "environment": {"hostname": "fixture-host", "cores": 2},
            "intended_rate": rate, "achieved_rate": achieved, "sent": completed, "completed": completed,
            "errors": {"connect": 0, "timeout": errors, "http_4xx": 0, "http_5xx": 0, "other": 0, "total": errors},
            "error_rate": errors / max(completed, 1), "latency": lat}
def snap(wall, server, pg, calls):
    return f"wall_ns={wall}\nclk_tck=100\ncores=2\nserver_ticks={server}\nworker_ticks=0\npg_ticks={pg}\nmachine_busy_ticks={server+pg}\nmachine_total_ticks={wall//5000000}\npgss_calls={calls}\n"
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
builds = {
 "01-baseline": dict(mean=2000, p99=3000, rate=4, ach=3.9, n=20, q=300, conn=20, c=(0,0,0,0), rend=200000, sent=200000, ticks=(40,100), sweep=[(2,1.98,2500),(4,3.0,9000)]),
 "03-cache":    dict(mean=20,   p99=60,   rate=4, ach=4.0, n=20, q=6,   conn=3,  c=(15,5,2,3), rend=200000, sent=200000, ticks=(20,10), sweep=[(4,4,50),(8,8,70),(16,12,900)]),
 "06-async":    dict(mean=5,    p99=12,   rate=4, ach=4.0, n=20, q=4,   conn=0,  c=(17,3,2,1), rend=200000, sent=60000, ticks=(10,5), sweep=[(4,4,10),(8,8,12),(16,16,20)]),
}
for name, b in builds.items():
    d = f"{root}/builds/{name}"
    os.makedirs(f"{d}/sweep", exist_ok=True)
    open(f"{d}/status","w").write("ok\n")
    json.dump(runjson(b["mean"], b["p99"], b["rate"], b["ach"], b["n"]), open(f"{d}/load.json","w"), indent=1)
    open(f"{d}/metrics.before.prom","w").write(prom(100, 1000, 50, 0,0,0,0, 1000, 1000))
    l1h,l1m,l2h,l2m = b["c"]
    open(f"{d}/metrics.after.prom","w").write(prom(120, 1000+b["q"], 50+b["conn"], l1h,l1m,l2h,l2m, 1000+b["rend"], 1000+b["sent"]))
    open(f"{d}/snap.before","w").write(snap(1000000000, 500, 900, 5000))
    open(f"{d}/snap.after","w").write(snap(6000000000, 500+b["ticks"][0], 900+b["ticks"][1], 5000+b["q"]))
    open(f"{d}/timing.txt","w").write("db;dur=10.0, cache;dur=0.5, render;dur=1.0, encode;dur=0.0\ndb;dur=20.0, cache;dur=1.5, render;dur=3.0, encode;dur=0.2\n")
    open(f"{d}/load.latency.hgrm","w").write(spectrum(b["mean"]))
    for off, ach, p99 in b["sweep"]:
        r = runjson(p99/2, p99, off, ach, int(ach*3))
        json.dump(r, open(f"{d}/sweep/rate-{off:08.2f}.json","w"))
os.makedirs(f"{root}/builds/05-gzip", exist_ok=True)
open(f"{root}/builds/05-gzip/status","w").write("failed: exited with status 1 before /healthz answered\n")
open(f"{root}/builds/06-async/jobs.txt","w").write("310\n320\n330\n900\n")
os.makedirs(f"{root}/calibration/sweep", exist_ok=True)
for off, ach, p99 in [(1,1,2500),(2,2,2600),(4,3.9,3000),(8,4,12000)]:
    json.dump(runjson(p99/2, p99, off, ach, int(ach*3)), open(f"{root}/calibration/sweep/rate-{off:08.2f}.json","w"))
os.makedirs(f"{root}/plans", exist_ok=True)
open(f"{root}/plans/headline-article-indexes.txt","w").write("""Limit  (cost=1.00..2.00 rows=100 width=40) (actual time=2100.000..2100.100 rows=100 loops=1)
  ->  Sort  (cost=1.00..2.00 rows=100 width=40)
        ->  Hash Join  (cost=1.00..2.00 rows=100 width=40)
              ->  Parallel Seq Scan on readings r  (cost=0.00..1.00 rows=100 width=30) (actual time=0.01..1500.0 rows=1 loops=3)
Planning Time: 0.300 ms
Execution Time: 2100.500 ms
""")
open(f"{root}/plans/headline-timestamp-index.txt","w").write("""Limit  (cost=1.00..2.00 rows=100 width=40) (actual time=0.100..30.000 rows=100 loops=1)
  ->  Nested Loop  (cost=1.00..2.00 rows=100 width=40)
        ->  Index Scan Backward using readings_timestamp_idx on readings r  (cost=0.43..1.00 rows=100 width=30)
Planning Time: 0.300 ms
Execution Time: 30.250 ms
""")
open(f"{root}/plans/01-baseline.txt","w").write("""Limit
  ->  Seq Scan on readings r  (cost=0.00..1.00 rows=100 width=30)
Execution Time: 2900.000 ms
""")
# the headline sample (10 sequential headline requests) and verify results
for name, q in {"01-baseline": 150, "03-cache": 2, "06-async": 1}.items():
    d = f"{root}/builds/{name}"
    open(f"{d}/sample.before.prom","w").write('http_requests_total{route="latest",status="200"} 200\napibench_db_queries_total 5000\n')
    open(f"{d}/sample.after.prom","w").write(f'http_requests_total{{route="latest",status="200"}} 210\napibench_db_queries_total {5000+q}\n')
    open(f"{d}/sample.before","w").write("pgss_calls=9000\n")
    open(f"{d}/sample.after","w").write(f"pgss_calls={9000+q}\n")
    open(f"{d}/verify.status","w").write("ok\n" if name != "03-cache" else "failed: FAIL fixture check\n")
