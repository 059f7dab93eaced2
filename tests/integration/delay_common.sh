# tests/integration/delay_common.sh - shared by the harness tests that load the delay
# server rather than a build (test_segments_merge.sh, test_hlog_interop.sh). Set PORT and
# TMP_NAME, then source it: it finds the binaries, makes $TMP (removed at exit with the
# delay server, $SERVER_PID) and gives pass/fail, which count failures in FAILS; the test
# ends with delay_finish.
# shellcheck shell=bash
set -u
BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
APIBENCH=${APIBENCH:-$BUILD_DIR/apibench}
DELAY_SERVER=${DELAY_SERVER:-$BUILD_DIR/tests/apibench-delay-server}
TMP=$(mktemp -d "/tmp/apibench-$TMP_NAME.XXXXXX")
SERVER_PID=
FAILS=0

cleanup() {
    [ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; }
    rm -rf "$TMP"
}
trap cleanup EXIT

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }

# delay_finish - exits 1 when a check failed.
delay_finish() {
    [ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
}

for f in "$APIBENCH" "$DELAY_SERVER"; do
    [ -x "$f" ] || { echo "FAIL missing $f (build first)"; exit 1; }
done
