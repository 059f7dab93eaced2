#!/usr/bin/python3
"""bad_requests.py - sends every case of tests/data/bad_requests.tsv to one server and
checks each answer: the expected 4xx status, Content-Type application/json, and the API's
error body {"error": {"status": N, "message": "..."}} with that status (only the status
for a case marked ":libmicrohttpd", which the HTTP library answers itself). A 5xx, a timeout,
a closed connection without an answer or any other status is a failure. Afterwards the
server must still answer a good request (GET /api/readings/latest?limit=1 with the first
key) with 200.

Requests go over raw sockets (one connection each, Connection: close) so that a case can
hold what an HTTP library refuses to send: duplicate headers, conflicting lengths,
non-UTF-8 bytes, made-up methods.

    bad_requests.py --port N --cases FILE --var NAME=VALUE ... [--label BUILD] [--timeout S]

Prints one line per failing case and a summary line:
    BUILD: N cases, N as expected, N wrong status, N not JSON, N 5xx, N no answer
Exit status 0 when every case was answered as expected and the server is still well.
"""
import argparse
import gzip
import json
import re
import socket
import sys

# Generated values the table refers to as ${NAME} (too long or too odd to write there).
GENERATED = {
    "DEEP_ARRAYS": "[" * 100000,
    "DEEP_OBJECTS": '{"a":' * 50000 + "1" + "}" * 50000,
    "LONG_SEGMENT": "a" * 10000,
    "LONG_DIGITS": "9" * 5000,
    "LONG_KEY": "ak_" + "f" * 10000,
    "LONG_CURSOR": "djF8" * 100,
    "LONG_EMAIL": "a" * 300 + "@example.com",
    "MANY_CODINGS": ", ".join(["gzip;q=0.5"] * 400),
    "HUGE_URL": "/api/readings/latest?limit=5&pad=" + "x" * 70000,
    "HUGE_HEADER_VALUE": "y" * 70000,
}

VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")


def expand(field, variables):
    """${NAME} from variables or GENERATED, then backslash escapes (\\r \\n \\t \\\\ \\xNN)
    into bytes (each character below 256 is one byte)."""
    if field == "-":
        return None

    def sub(m):
        name = m.group(1)
        if name in variables:
            return variables[name]
        if name in GENERATED:
            return GENERATED[name]
        raise KeyError("unknown variable ${%s}" % name)

    text = VAR_RE.sub(sub, field)
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x" and i + 3 < len(text):
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}.get(n, ("\\" + n).encode())
            i += 2
            continue
        out += c.encode("utf-8")
        i += 1
    return bytes(out)


def read_cases(path):
    cases = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 6:
                sys.exit("%s:%d: expected 6 tab-separated columns, got %d" % (path, lineno, len(cols)))
            name, method, target, headers, body, expect = cols
            status, _, by = expect.partition(":")
            if by not in ("", "libmicrohttpd"):
                sys.exit("%s:%d: unknown marker %r" % (path, lineno, by))
            cases.append({"line": lineno, "name": name, "method": method, "target": target,
                          "headers": headers, "body": body, "expect": int(status),
                          "json": by == ""})
    return cases


def build_request(case, variables, port):
    method = expand(case["method"], variables)
    target = expand(case["target"], variables)
    headers = expand(case["headers"], variables)
    body = expand(case["body"], variables)
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1:%d" % port,
             b"Connection: close"]
    names = set()
    if headers:
        for h in headers.split(b"\n"):
            lines.append(h)
            names.add(h.split(b":", 1)[0].strip().lower())
    if body is not None and b"content-length" not in names and b"transfer-encoding" not in names:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def send(port, raw, timeout):
    """Returns (status, headers dict (lowercase names), body bytes) or raises OSError/ValueError."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer before reading everything; read what it said
        data = bytearray()
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, sep, body = bytes(data).partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no complete answer (%d bytes)" % len(data))
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    status = int(parts[1])
    headers = {}
    for h in lines[1:]:
        k, _, v = h.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = bytearray(), body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out += rest[:size]
            rest = rest[size + 2:]
        body = bytes(out)
    if headers.get("content-encoding", "").lower() == "gzip":
        body = gzip.decompress(body)
    return status, headers, body


def check(case, port, variables, timeout):
    """Returns None when as expected, else (kind, detail)."""
    try:
        raw = build_request(case, variables, port)
        status, headers, body = send(port, raw, timeout)
    except socket.timeout:
        return "no answer", "timed out after %gs" % timeout
    except (OSError, ValueError) as e:
        return "no answer", str(e)
    if status >= 500:
        return "5xx", "status %d: %s" % (status, body[:200])
    if status != case["expect"]:
        return "wrong status", "expected %d, got %d: %s" % (case["expect"], status, body[:200])
    if not case["json"]:
        return None  # libmicrohttpd's own answer: its fixed HTML body
    if not headers.get("content-type", "").startswith("application/json"):
        return "not JSON", "content-type %r: %s" % (headers.get("content-type"), body[:200])
    try:
        err = json.loads(body)["error"]
        if err["status"] != status or not isinstance(err["message"], str) or not err["message"]:
            raise ValueError("fields")
    except (ValueError, KeyError, TypeError):
        return "not JSON", "not the API's error body: %s" % body[:200]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--var", action="append", default=[])
    ap.add_argument("--label", default="server")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--only", help="run only the case of this name")
    args = ap.parse_args()
    variables = dict(v.split("=", 1) for v in args.var)
    cases = read_cases(args.cases)
    if args.only:
        cases = [c for c in cases if c["name"] == args.only]
    counts = {"as expected": 0, "wrong status": 0, "not JSON": 0, "5xx": 0, "no answer": 0}
    for case in cases:
        res = check(case, args.port, variables, args.timeout)
        if res is None:
            counts["as expected"] += 1
        else:
            counts[res[0]] += 1
            print("%s: case %s (line %d): %s: %s" % (args.label, case["name"], case["line"],
                                                     res[0], res[1]))
    good = "ok"
    try:
        raw = (b"GET /api/readings/latest?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               b"X-API-Key: " + variables["ADMIN"].encode() + b"\r\n\r\n")
        status, _, _ = send(args.port, raw, args.timeout)
        if status != 200:
            good = "answered %d" % status
    except (OSError, ValueError) as e:
        good = "no answer (%s)" % e
    print("%s: %d cases, %s; good request afterwards: %s" % (
        args.label, len(cases), ", ".join("%d %s" % (v, k) for k, v in counts.items()), good))
    sys.exit(0 if counts["as expected"] == len(cases) and good == "ok" else 1)


if __name__ == "__main__":
    main()
