#!/usr/bin/python3
"""clients.py - misbehaving and normal HTTP clients for the fault tests (loopback only).

  clients.py flood --port P --count N --seconds S [--source ADDR] [--idle K]
      Keeps N connections open for S seconds, each having sent half a request header
      (a slow client that stalls), reopening any the server closes (at most 2000 opens/s).
      With --idle K, K connections instead complete one request and then idle (keep-alive),
      and are not reopened. Prints one JSON line: opens, closed_at_once (closed within 1 s
      of opening: refused), closed_stalled (closed later: dropped for stalling), held_max,
      held_end, idle_end (idle ones still open), idle_closed and idle_closed_after_s
      (seconds each idled before its close).
  clients.py probe --port P --seconds S [--every 0.1] [--source 127.0.0.2] [--path /healthz]
      Every 0.1 s, a new connection from ADDR sends GET PATH and reads the answer (2 s
      limit). Prints one JSON line: samples, ok, max_ms, p50_ms, p99_ms, slow (over 1 s),
      per_second_max_ms (the worst sample of each second).
  clients.py post --port P --bytes N [--chunked]
      Sends POST /api/devices/1/readings with an N-byte body through http.client, without
      Expect: 100-continue, then reads the answer. Prints one JSON line: sent, status,
      content_type, body (the JSON answer), or error (what the client saw).

  clients.py load --port P --seconds S --key KEY --devices ID,ID,... [--connections 16]
      Keep-alive GETs as fast as the server answers, over C connections, of mostly distinct
      cache keys: a random device's readings with random hours (1-168) and limit (1-500),
      and one time in five the headline with a random limit. Prints one JSON line every
      10 s (elapsed_s, requests, rate, errors) on stderr and a summary on stdout.

Run with /usr/bin/python3 (Debian's). Only the standard library is used.
"""

import argparse
import http.client
import json
import selectors
import socket
import sys
import time

HALF_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"
FULL_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def flood(args):
    sel = selectors.DefaultSelector()
    stats = {"opens": 0, "closed_at_once": 0, "closed_stalled": 0, "held_max": 0,
             "idle_closed": 0, "idle_closed_after_s": []}
    held = {}  # socket -> (opened_at, stage): stage "connecting", "half", "idle-wait", "idle"
    end = time.monotonic() + args.seconds
    idle_left = args.idle
    budget = 0.0
    last = time.monotonic()

    def open_one():
        nonlocal idle_left
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if args.source:
            s.bind((args.source, 0))
        try:
            s.connect(("127.0.0.1", args.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        idle = idle_left > 0
        if idle:
            idle_left -= 1
        held[s] = [time.monotonic(), "connecting", idle, None]
        sel.register(s, selectors.EVENT_WRITE)
        stats["opens"] += 1

    def closed(s):
        opened_at, stage, _, idle_since = held.pop(s)
        sel.unregister(s)
        s.close()
        if stage == "idle":
            stats["idle_closed"] += 1
            stats["idle_closed_after_s"].append(round(time.monotonic() - idle_since, 1))
        elif time.monotonic() - opened_at < 1.0:
            stats["closed_at_once"] += 1
        else:
            stats["closed_stalled"] += 1

    while True:
        now = time.monotonic()
        if now >= end:
            break
        budget = min(budget + (now - last) * 2000.0, 200.0)
        last = now
        while len(held) < args.count and budget >= 1.0 and (idle_left > 0 or not args.idle):
            open_one()
            budget -= 1.0
        for key, _ in sel.select(timeout=0.01):
            s = key.fileobj
            entry = held.get(s)
            if entry is None:
                continue
            try:
                if entry[1] == "connecting":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        closed(s)
                        continue
                    s.send(FULL_REQUEST if entry[2] else HALF_REQUEST)
                    entry[1] = "idle-wait" if entry[2] else "half"
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                data = s.recv(65536)
                if not data:
                    closed(s)
                elif entry[1] == "idle-wait":
                    entry[1] = "idle"  # answered: now an idle keep-alive connection
                    entry[3] = time.monotonic()
            except OSError:
                closed(s)
        stats["held_max"] = max(stats["held_max"], len(held))
    stats["held_end"] = len(held)
    stats["idle_end"] = sum(1 for e in held.values() if e[1] == "idle")
    for s in list(held):
        s.close()
    print(json.dumps(stats))
    return 0


def probe(args):
    samples = []
    failures = 0
    per_second = {}
    start = time.monotonic()
    next_at = start
    while time.monotonic() - start < args.seconds:
        t0 = time.monotonic()
        ok = False
        try:
            s = socket.create_connection(("127.0.0.1", args.port), timeout=2.0,
                                         source_address=(args.source, 0))
            s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                       % args.path).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            ok = data.startswith(b"HTTP/1.1 200")
        except OSError:
            ok = False
        ms = (time.monotonic() - t0) * 1000.0
        if not ok:
            failures += 1
            ms = max(ms, 2000.0)
        samples.append(ms)
        second = int(t0 - start)
        per_second[second] = max(per_second.get(second, 0.0), ms)
        next_at += args.every
        time.sleep(max(0.0, next_at - time.monotonic()))
    ordered = sorted(samples)

    def pct(p):
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    print(json.dumps({
        "samples": len(samples), "ok": len(samples) - failures,
        "max_ms": round(ordered[-1], 1), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
        "slow": sum(1 for x in samples if x > 1000.0),
        "per_second_max_ms": [round(per_second[k]) for k in sorted(per_second)],
    }))
    return 0


def post(args):
    body = b'{"readings":[' + b" " * max(0, args.bytes - 15) + b"]}"
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    out = {"sent": len(body)}
    try:
        if args.chunked:
            def pieces():
                for i in range(0, len(body), 65536):
                    yield body[i:i + 65536]
            conn.request("POST", "/api/devices/1/readings", body=pieces(),
                         headers={"Content-Type": "application/json"},
                         encode_chunked=True)
        else:
            conn.request("POST", "/api/devices/1/readings", body=body,
                         headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        out["status"] = r.status
        out["content_type"] = r.getheader("Content-Type")
        text = r.read().decode("utf-8", "replace")
        try:
            out["body"] = json.loads(text)
        except ValueError:
            out["body"] = text
    except (OSError, http.client.HTTPException) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    print(json.dumps(out))
    return 0


def load(args):
    import random
    rng = random.Random(args.seed)
    devices = [int(x) for x in args.devices.split(",") if x]
    sel = selectors.DefaultSelector()
    stats = {"requests": 0, "errors": 0, "statuses": {}}
    start = time.monotonic()
    end = start + args.seconds

    def request_bytes():
        if rng.random() < 0.2:
            path = "/api/readings/latest?limit=%d" % rng.randint(1, 500)
        else:
            path = "/api/devices/%d/readings?hours=%d&limit=%d" % (
                rng.choice(devices), rng.randint(1, 168), rng.randint(1, 500))
        return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\n"
                "Accept-Encoding: gzip\r\n\r\n" % (path, args.key)).encode()

    class Conn:
        def __init__(self):
            self.sock = socket.create_connection(("127.0.0.1", args.port))
            self.sock.setblocking(False)
            self.buf = b""
            self.need = None
            sel.register(self.sock, selectors.EVENT_READ, self)
            self.send()

        def send(self):
            self.sock.sendall(request_bytes())
            self.buf = b""
            self.need = None

        def reopen(self):
            sel.unregister(self.sock)
            self.sock.close()
            self.__init__()

    conns = [Conn() for _ in range(args.connections)]
    next_report = start + 10
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            c = key.data
            try:
                data = c.sock.recv(262144)
            except OSError:
                data = b""
            if not data:
                stats["errors"] += 1
                c.reopen()
                continue
            c.buf += data
            if c.need is None:
                head_end = c.buf.find(b"\r\n\r\n")
                if head_end < 0:
                    continue
                head = c.buf[:head_end].decode("latin-1")
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                c.need = head_end + 4 + length
                status = head.split(" ", 2)[1]
                stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
                if not status.startswith("2"):
                    stats["errors"] += 1
            if len(c.buf) >= c.need:
                stats["requests"] += 1
                c.send()
        now = time.monotonic()
        if now >= next_report:
            elapsed = now - start
            sys.stderr.write(json.dumps({"elapsed_s": round(elapsed), "requests": stats["requests"],
                                         "rate": round(stats["requests"] / elapsed),
                                         "errors": stats["errors"]}) + "\n")
            sys.stderr.flush()
            next_report += 10
    elapsed = time.monotonic() - start
    stats["rate"] = round(stats["requests"] / elapsed)
    for c in conns:
        c.sock.close()
    print(json.dumps(stats))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("flood")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--count", type=int, required=True)
    f.add_argument("--seconds", type=float, required=True)
    f.add_argument("--source", default=None)
    f.add_argument("--idle", type=int, default=0)
    q = sub.add_parser("probe")
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--seconds", type=float, required=True)
    q.add_argument("--every", type=float, default=0.1)
    q.add_argument("--source", default="127.0.0.2")
    q.add_argument("--path", default="/healthz")
    b = sub.add_parser("post")
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--bytes", type=int, required=True)
    b.add_argument("--chunked", action="store_true")
    lo = sub.add_parser("load")
    lo.add_argument("--port", type=int, required=True)
    lo.add_argument("--seconds", type=float, required=True)
    lo.add_argument("--key", required=True)
    lo.add_argument("--devices", required=True)
    lo.add_argument("--connections", type=int, default=16)
    lo.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    return {"flood": flood, "probe": probe, "post": post, "load": load}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
