#!/usr/bin/python3
"""smtp_sink.py - a real SMTP server (aiosmtpd) that accepts every message, waits a
configurable delay before answering DATA (a remote mail server takes 200-500 ms), and
appends one JSON line per accepted message to a log that tests and the reproduction count.

  smtp_sink.py [serve] [--host H] [--port P] [--log FILE] [--delay-ms N] [--pidfile FILE]
  smtp_sink.py count --log FILE [--job-id ID] [--json]

Run it with /usr/bin/python3, which sees Debian's python3-aiosmtpd.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

DEFAULT_DELAY_MS = 300


class SinkHandler:
    """Accepts every message; logs it after the delay, just before answering 250."""

    def __init__(self, log_path, delay_s):
        self.log_path = log_path
        self.delay_s = delay_s
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        headers = BytesHeaderParser(policy=default_policy).parsebytes(data)
        record = {
            "received_at": time.time(),
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": _header(headers, "Subject"),
            "message_id": _header(headers, "Message-ID"),
            "job_id": _header(headers, "X-Apibench-Job"),
            "bytes": len(data),
        }
        if self.log_path:
            line = json.dumps(record, separators=(",", ":")) + "\n"
            # O_APPEND keeps each line whole even if two sinks share a log.
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        self.accepted += 1
        return "250 OK: queued as apibench-%d" % self.accepted


def _header(headers, name):
    value = headers.get(name)
    if value is None:
        return None
    return str(value).strip()


def serve(args):
    # Imported here so that `count` works without aiosmtpd.
    try:
        from aiosmtpd.smtp import SMTP
    except ImportError:
        sys.stderr.write("smtp_sink: cannot import aiosmtpd: install python3-aiosmtpd and "
                         "run with /usr/bin/python3\n")
        return 1

    delay_ms = args.delay_ms
    env_delay = os.environ.get("SMTP_DELAY_MS")
    if env_delay not in (None, ""):
        try:
            delay_ms = int(env_delay)
        except ValueError:
            sys.stderr.write("smtp_sink: bad SMTP_DELAY_MS '%s': expected milliseconds\n"
                             % env_delay)
            return 2
    if delay_ms < 0:
        sys.stderr.write("smtp_sink: bad delay %d ms: must be >= 0\n" % delay_ms)
        return 2

    handler = SinkHandler(args.log, delay_ms / 1000.0)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        # A fixed hostname avoids a slow reverse lookup per connection.
        return SMTP(handler, hostname="apibench-sink", ident="apibench smtp sink",
                    data_size_limit=64 * 1024 * 1024)

    try:
        server = loop.run_until_complete(
            loop.create_server(factory, host=args.host, port=args.port, reuse_address=True))
    except OSError as exc:
        sys.stderr.write("smtp_sink: cannot listen on %s:%d: %s\n"
                         % (args.host, args.port, exc.strerror or exc))
        return 1

    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    if args.pidfile:
        tmp = args.pidfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(tmp, args.pidfile)

    sys.stderr.write("smtp_sink: listening on %s:%d, delay %d ms, log %s\n"
                     % (args.host, args.port, delay_ms, args.log or "(none)"))
    sys.stderr.flush()
    try:
        loop.run_until_complete(stopping.wait())
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        if args.pidfile:
            try:
                if _read_pid(args.pidfile) == os.getpid():
                    os.unlink(args.pidfile)
            except OSError:
                pass
        sys.stderr.write("smtp_sink: stopped after %d messages\n" % handler.accepted)
        loop.close()
    return 0


def _read_pid(path):
    with open(path) as f:
        return int(f.read().strip() or 0)


def count(args):
    """Prints messages, distinct job ids and duplicated job ids in the log."""
    messages = 0
    per_job = {}
    try:
        with open(args.log, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    sys.stderr.write("smtp_sink: %s:%d: not JSON, skipped\n" % (args.log, lineno))
                    continue
                job = rec.get("job_id")
                if args.job_id is not None and job != args.job_id:
                    continue
                messages += 1
                if job is not None:
                    per_job[job] = per_job.get(job, 0) + 1
    except FileNotFoundError:
        pass  # no message received yet
    except OSError as exc:
        sys.stderr.write("smtp_sink: cannot read %s: %s\n" % (args.log, exc.strerror))
        return 1
    dup_jobs = sum(1 for n in per_job.values() if n > 1)
    dup_msgs = sum(n - 1 for n in per_job.values() if n > 1)
    result = {"messages": messages, "jobs": len(per_job),
              "duplicate_jobs": dup_jobs, "duplicate_messages": dup_msgs}
    if args.json:
        print(json.dumps(result))
    else:
        print(" ".join("%s=%d" % kv for kv in result.items()))
    return 0


def main(argv):
    parser = argparse.ArgumentParser(prog="smtp_sink.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd")

    def add_serve_opts(p):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=52525)
        p.add_argument("--log", help="append one JSON line per accepted message here")
        p.add_argument("--delay-ms", type=int, default=DEFAULT_DELAY_MS,
                       help="wait this long before answering DATA (default %d; "
                            "env SMTP_DELAY_MS overrides)" % DEFAULT_DELAY_MS)
        p.add_argument("--pidfile")

    add_serve_opts(parser)
    add_serve_opts(sub.add_parser("serve", help="run the sink (the default)"))
    pc = sub.add_parser("count", help="count the messages in a sink log")
    pc.add_argument("--log", required=True)
    pc.add_argument("--job-id", help="only messages carrying this X-Apibench-Job header")
    pc.add_argument("--json", action="store_true", help="print a JSON object")

    args = parser.parse_args(argv)
    if args.cmd == "count":
        return count(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
