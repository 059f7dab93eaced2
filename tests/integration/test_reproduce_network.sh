#!/usr/bin/env bash
# test_reproduce_network.sh - scripts/reproduce --network mobile --quick, end to end, on a
# scale-1 database of its own and ports 26201..26206 (nginx 26290). Checks:
#   - run.info records the profile and how it was emulated, and says plainly when the RTT
#     could not be (no netem: this VM's and CI's kernels run it through the generator's
#     per-connection limits);
#   - the report's "Network profile" section has the profile table, with every build;
#   - on mobile, 05-gzip's headline transfer time and bytes on the wire are below
#     04-pool's (the transfer time gzip saves);
#   - the common rate was chosen so that the link is not the bottleneck;
#   - lo carries no qdisc of this run afterwards; where this machine can shape (root,
#     tc tbf), the kernel method's transfer time follows the rate, and lo is clean after
#     a shaped load and after an interrupted one.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

apibench_env
fresh_db apibench_t_reproduce_network >/dev/null
on_exit 'drop_db apibench_t_reproduce_network'

tmp=$(mktemp -d /tmp/apibench-reproduce-network.XXXXXX)
on_exit "rm -rf '$tmp'"
run=$tmp/run

# (tc's output read whole: `tc ... | grep -q` fails under pipefail when tc gets SIGPIPE)
lo_clean() { ! command -v tc >/dev/null || [[ "$(tc qdisc show dev lo)" != *"qdisc htb ab01:"* ]]; }

note "scripts/reproduce --network mobile --quick into $run"
if ! DATABASE_URL=$T_DATABASE_URL APP_DATABASE_URL=$T_APP_DATABASE_URL \
    WORKER_DATABASE_URL=$T_WORKER_DATABASE_URL APIBENCH_BUILD_DIR=$BUILD_DIR \
    APIBENCH_PORT_BASE=26200 "$SOURCE_DIR/scripts/reproduce" --quick --network mobile \
    --out "$run" >"$tmp/out.log" 2>&1; then
    tail -n 40 "$tmp/out.log"
    fail "scripts/reproduce --network mobile --quick failed"
fi
check 'lo_clean' "lo has no qdisc of the run left"
check 'grep -q "^network_profile=mobile$" "$run/run.info"' "run.info records the profile"
check 'grep -q "^network_rate_by=" "$run/run.info" && grep -q "^network_rtt=" "$run/run.info"' \
    "run.info says how the rate and the RTT were emulated"
if grep -q '^network_rate_by=generator' "$run/run.info"; then
    check 'grep -q "^network_rtt=RTT 150 ms: not emulated" "$run/run.info"' \
        "without netem, the RTT is reported as not emulated"
fi
grep '^network_' "$run/run.info" | sed 's/^/  /'

python3 - "$run" <<'PYEOF' || fail "the profile table does not hold what it should (see above)"
import json, re, sys
run = sys.argv[1]
md = open(run + "/report.md").read()
s = json.load(open(run + "/summary.json"))
problems = []
sec = md.split("## Network profile", 1)
if len(sec) != 2:
    sys.exit("report.md has no 'Network profile' section")
sec = sec[1].split("\n## ", 1)[0]
print(sec)
for b in s["builds"]:
    if b["status"] != "ok":
        problems.append("%s: %s" % (b["build"], b["status"]))
    if not re.search(r"^\| %s \|" % re.escape(b["build"]), sec, re.M):
        problems.append("%s has no row in the profile table" % b["build"])
for what in ("Rate:", "RTT:"):
    if what not in sec:
        problems.append("the section does not say '%s'" % what)

def headline(build):
    d = json.load(open("%s/builds/%s/repeat-1/load.json" % (run, build)))
    r = d["routes"]["latest"]
    return r["transfer_time"]["mean_ms"], r["bytes_received"] / max(r["count"], 1), d
t4, b4, d4 = headline("04-pool")
t5, b5, d5 = headline("05-gzip")
print("headline on mobile: 04-pool transfer %.1f ms, %.0f bytes; 05-gzip transfer %.1f ms, %.0f bytes" % (t4, b4, t5, b5))
if not t5 < t4:
    problems.append("05-gzip's headline transfer time %.2f ms is not below 04-pool's %.2f ms" % (t5, t4))
if not b5 < b4:
    problems.append("05-gzip's headline bytes %.0f are not below 04-pool's %.0f" % (b5, b4))
if "saves" not in sec:
    problems.append("the section does not state what gzip saves")
# the common rate: the link is not the bottleneck for the identity builds
down = 1600 * 1000 / 8
rate = d4["intended_rate"]
use = rate * d4["bytes_received"] / max(d4["completed"], 1) / down
print("04-pool at the common rate %.3f req/s uses %.0f%% of the link" % (rate, 100 * use))
if use > 0.6:
    problems.append("04-pool at the common rate uses %.0f%% of the link" % (100 * use))
for p in problems:
    print("PROBLEM:", p)
sys.exit(1 if problems else 0)
PYEOF

# The kernel method, where this machine has it (root, tc with htb and tbf): scripts/lib/
# network.sh shapes a small HTTP server's port on lo (port 26290), the generator's
# headline-sized responses then take about bytes / rate to arrive, and lo is clean
# afterwards, also when the load is interrupted.
if [ "$(id -u)" -eq 0 ] && command -v tc >/dev/null &&
    unshare -n tc qdisc add dev lo root tbf rate 1mbit burst 8kb latency 1s 2>/dev/null; then
    note "the kernel method: tc tbf on port 26290"
    # a safety net for a failed check: never leave lo shaped (checked before this runs)
    on_exit 'sleep 0.5; lo_clean || tc qdisc del dev lo root'

    mkdir -p "$tmp/www" "$tmp/k"
    head -c 20000 /dev/urandom >"$tmp/www/body"
    (cd "$tmp/www" && exec python3 -m http.server 26290 --bind 127.0.0.1) >/dev/null 2>&1 &
    track_pid $!
    wait_http http://127.0.0.1:26290/body 10 || fail "the test's HTTP server did not start"
    # a reproduction's context, as scripts/reproduce sets it
    cat >"$tmp/k/shape.sh" <<SHEOF
set -euo pipefail
AB_PROG=test
. "$SOURCE_DIR/scripts/lib.sh"
. "$SOURCE_DIR/scripts/lib/reproduce.sh"
rp_defaults
BIN=$BUILD_DIR RUN=$tmp/k TARGETS=(http://127.0.0.1:26290)
APIBENCH_NETWORK_SHAPER=kernel
trap net_unshape EXIT
trap 'kill \$(jobs -p) 2>/dev/null; exit 130' INT TERM
net_setup mobile
net_run rp_fg "\$BIN/apibench" run --target http://127.0.0.1:26290 --path /body --rate 2 --warmup 0 \
    --duration "\$1" --quiet --out "$tmp/k/load" "\${NET_RUN_ARGS[@]}"
SHEOF
    bash "$tmp/k/shape.sh" 3 >"$tmp/k/out.log" 2>&1 || { cat "$tmp/k/out.log"; fail "the shaped load failed"; }
    check 'lo_clean' "lo has no qdisc of the run left after a shaped load"
    check 'grep -q "^network_rate_by=kernel: tc tbf" "$tmp/k/run.info"' "run.info says tc tbf shaped the rate"
    python3 - "$tmp/k/load.json" <<'PYEOF' || fail "the kernel's shaping did not hold"
import json, sys
d = json.load(open(sys.argv[1]))
t = d["transfer_time"]["mean_ms"]
n = d["completed"]
expect = 20000 / (1600 * 1000 / 8) * 1000  # 100 ms for 20 kB at 1.6 Mbit/s
print("tbf: %d responses, transfer mean %.1f ms (bytes / rate: %.0f ms), rate_by %s"
      % (n, t, expect, d["config"]["network"]["rate_by"]))
ok = n >= 4 and 0.6 * expect <= t <= 2.5 * expect and d["config"]["network"]["rate_by"] == "kernel"
sys.exit(0 if ok else 1)
PYEOF
    bash "$tmp/k/shape.sh" 30 >"$tmp/k/out2.log" 2>&1 &
    pid=$!
    track_pid "$pid"
    # interrupted during the load (the filters are the last thing net_shape adds)
    shaped=0
    for ((i = 0; i < 100; i++)); do
        if [[ "$(tc filter show dev lo 2>/dev/null)" == *"ab01:2"* ]]; then shaped=1; break; fi
        sleep 0.1
    done
    check '[ "$shaped" -eq 1 ]' "lo is shaped while the load runs"
    sleep 0.5
    # SIGTERM: a background job of a non-interactive shell ignores SIGINT (bash); the
    # trap is the same one (scripts/reproduce traps both)
    kill -TERM "$pid"
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    check '! kill -0 "$pid" 2>/dev/null' "the interrupted load ended within 5 s"
    check 'lo_clean' "lo has no qdisc of the run left after the interrupt"
fi
note "ok"
