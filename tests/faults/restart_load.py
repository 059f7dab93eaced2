#!/usr/bin/env python3
"""tests/faults/restart_load.py - the load and the bookkeeping of the restart fault tests.

  restart_load.py run --target NAME=URL ... --key KEY --devices 1,2 --log FILE --stop-file F
  restart_load.py summary --log FILE --down-ms T --back-ms T [--acked-csv FILE]

`run` starts --ingesters client threads, each POSTing one reading at a time (a unique
timestamp and temperature per request) to the targets in turn, --readers threads GETting a
device's readings with a limit cycling over 1..--read-limits (many keys: the database
answers; few: a cache does), and --reporters threads POSTing device reports. Every answer
is logged, one JSON line each, with its send and receive time in wall-clock milliseconds,
until the stop file appears (or --max-s passes).

`summary` prints what the log shows as "name value" lines: requests and rates per phase
(before the outage, during it, after it), answers by status, error answers that are not a
503 JSON error with Retry-After, the recovery time of each target after PostgreSQL was
back, and writes every acknowledged (201) reading to --acked-csv for the row-by-row check
and the job id of every accepted (202) report to --accepted-jobs.
"""
import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

# 2020-01-01T00:00:00Z: older than any seeded reading; client i writes from i * 1e6 s on,
# so the load stays before 2020-03-01 (the tests count rows below that bound as its own)
BASE_EPOCH_S = 1577836800
HUMIDITY, BATTERY, RSSI = 50.5, 90.25, -60


def now_ms():
    return int(time.time() * 1000)


class Target:
    def __init__(self, spec):
        name, _, url = spec.partition("=")
        u = urllib.parse.urlsplit(url)
        self.name, self.host, self.port = name, u.hostname, u.port


class Client(threading.Thread):
    """One closed-loop client: a request, its log line, a pause, the next target."""

    def __init__(self, kind, index, args, out, lock):
        super().__init__(daemon=True)
        self.kind, self.index, self.args, self.out, self.lock = kind, index, args, out, lock
        self.conns = {}

    def request(self, target, method, path, body):
        conn = self.conns.get(target.name)
        if conn is None:
            conn = http.client.HTTPConnection(target.host, target.port, timeout=10)
            self.conns[target.name] = conn
        headers = {"X-API-Key": self.args.key}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read().decode("utf-8", "replace")
            return r.status, r.getheader("Retry-After"), r.getheader("Content-Type"), data
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            del self.conns[target.name]
            return 0, None, None, "%s: %s" % (type(e).__name__, e)

    def run(self):
        a = self.args
        targets = [Target(t) for t in a.target]
        devices = [int(d) for d in a.devices.split(",")]
        deadline = time.time() + a.max_s
        seq = 0
        while not os.path.exists(a.stop_file) and time.time() < deadline:
            target = targets[(seq + self.index) % len(targets)]
            device = devices[(seq + self.index) % len(devices)]
            rec = {"kind": self.kind, "client": self.index, "seq": seq,
                   "target": target.name, "device": device}
            if self.kind == "ingest":
                # the row-by-row check finds each one by its unique timestamp
                ts = BASE_EPOCH_S + self.index * 1000000 + seq
                rec["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
                rec["temperature"] = self.index * 25 + (seq % 20000) / 1000.0  # -100..150
                body = json.dumps({"readings": [{
                    "timestamp": rec["timestamp"], "temperature": rec["temperature"],
                    "humidity": HUMIDITY, "battery": BATTERY, "rssi": RSSI}]})
                method, path = "POST", "/api/devices/%d/readings" % device
            elif self.kind == "report":
                body = json.dumps({"kind": "device", "id": device, "hours": 24,
                                   "email": "faults@example.com"})
                method, path = "POST", "/api/reports"
            else:
                body = None
                method = "GET"
                path = "/api/devices/%d/readings?hours=168&limit=%d" % (
                    device, 1 + seq % a.read_limits)
            rec["t0"] = now_ms()
            status, retry, ctype, data = self.request(target, method, path, body)
            rec.update(t1=now_ms(), status=status, retry_after=retry, content_type=ctype,
                       body=data if (status != 200) else "")
            with self.lock:
                self.out.write(json.dumps(rec) + "\n")
            seq += 1
            time.sleep(a.pause_ms / 1000.0)


def cmd_run(a):
    lock = threading.Lock()
    with open(a.log, "w", buffering=1) as out:
        clients = [Client("ingest", i, a, out, lock) for i in range(a.ingesters)]
        clients += [Client("read", i, a, out, lock) for i in range(a.readers)]
        clients += [Client("report", i, a, out, lock) for i in range(a.reporters)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
    return 0


def proper_error(rec):
    """True when a failed answer is the API's 503: JSON error body and Retry-After."""
    if rec["status"] != 503 or not rec.get("retry_after") or int(rec["retry_after"]) < 1:
        return False
    if not (rec.get("content_type") or "").startswith("application/json"):
        return False
    try:
        err = json.loads(rec["body"])["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return err.get("status") == 503 and bool(err.get("message"))


def recovery_ms(recs, back_ms):
    """Time from back_ms to the end of the first success after which every request to
    this target succeeded (requests sent from back_ms on). None: it never recovered."""
    after = sorted((r for r in recs if r["t0"] >= back_ms), key=lambda r: r["t0"])
    last_fail = max((r["t0"] for r in after if r["status"] >= 300 or r["status"] == 0),
                    default=None)
    for r in after:
        if r["status"] < 300 and r["status"] != 0 and (last_fail is None or r["t0"] > last_fail):
            return max(0, r["t1"] - back_ms)
    return None


def cmd_summary(a):
    recs = [json.loads(line) for line in open(a.log)]
    phases = {"before": (0, a.down_ms), "outage": (a.down_ms, a.back_ms),
              "after": (a.back_ms, 1 << 62)}
    facts = []
    for kind in ("ingest", "read", "report"):
        mine = [r for r in recs if r["kind"] == kind]
        if not mine:
            continue
        for phase, (lo, hi) in phases.items():
            inph = [r for r in mine if lo <= r["t0"] < hi]
            span = (max(r["t1"] for r in inph) - min(r["t0"] for r in inph)) if inph else 0
            rate = len(inph) * 1000.0 / span if span else 0.0
            facts.append(("%s_%s_requests" % (kind, phase), len(inph)))
            facts.append(("%s_%s_rate" % (kind, phase), "%.1f" % rate))
        facts.append(("%s_requests" % kind, len(mine)))
        facts.append(("%s_failed" % kind,
                      sum(1 for r in mine if r["status"] >= 300 or r["status"] == 0)))
        by_status = {}
        for r in mine:
            by_status[r["status"]] = by_status.get(r["status"], 0) + 1
        for st in sorted(by_status):
            facts.append(("%s_status_%d" % (kind, st), by_status[st]))
        bad = [r for r in mine if (r["status"] >= 300 or r["status"] == 0)
               and not proper_error(r)]
        facts.append(("%s_improper_errors" % kind, len(bad)))
        for r in bad[:3]:
            print("# improper error: %s %s %s retry-after=%s %s" % (
                r["target"], r["status"], r.get("content_type"), r.get("retry_after"),
                r["body"][:200]), file=sys.stderr)
        for name in sorted({r["target"] for r in mine}):
            rec = recovery_ms([r for r in mine if r["target"] == name], a.back_ms)
            facts.append(("%s_recovery_ms_%s" % (kind, name), "never" if rec is None else rec))
    if a.accepted_jobs:
        with open(a.accepted_jobs, "w") as out:
            for r in recs:
                if r["kind"] == "report" and r["status"] == 202:
                    out.write("%d\n" % json.loads(r["body"])["job"]["id"])
    if a.acked_csv:
        acked = bad_bodies = 0
        with open(a.acked_csv, "w") as csv:
            for r in recs:
                if r["kind"] != "ingest" or r["status"] != 201:
                    continue
                try:
                    ok = json.loads(r["body"]) == {"device_id": r["device"], "inserted": 1}
                except ValueError:
                    ok = False
                bad_bodies += not ok
                acked += 1
                csv.write("%d,%s,%r,%r,%r,%d\n" % (r["device"], r["timestamp"], r["temperature"],
                                                   HUMIDITY, BATTERY, RSSI))
        facts.append(("ingest_acked", acked))
        facts.append(("ingest_acked_bad_body", bad_bodies))
    for k, v in facts:
        print("%s %s" % (k, v))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--target", action="append", required=True, help="NAME=http://host:port")
    r.add_argument("--key", required=True)
    r.add_argument("--devices", required=True, help="comma-separated device ids")
    r.add_argument("--ingesters", type=int, default=4)
    r.add_argument("--readers", type=int, default=1)
    r.add_argument("--read-limits", type=int, default=390,
                   help="readers cycle limit=1..N: few keys make a cache hit often")
    r.add_argument("--reporters", type=int, default=0, help="clients POSTing device reports")
    r.add_argument("--pause-ms", type=int, default=40)
    r.add_argument("--log", required=True)
    r.add_argument("--stop-file", required=True)
    r.add_argument("--max-s", type=float, default=120)
    s = sub.add_parser("summary")
    s.add_argument("--log", required=True)
    s.add_argument("--down-ms", type=int, required=True)
    s.add_argument("--back-ms", type=int, required=True)
    s.add_argument("--acked-csv")
    s.add_argument("--accepted-jobs", help="write the job id of every 202 report here")
    a = p.parse_args()
    return cmd_run(a) if a.cmd == "run" else cmd_summary(a)


if __name__ == "__main__":
    sys.exit(main())
