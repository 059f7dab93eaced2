# scripts/lib.sh - shell helpers shared by scripts/* and tests/integration/lib.sh.
# shellcheck shell=bash disable=SC2034
# Source it; it defines functions and a few read-only settings and runs nothing else.
# Callers choose their own `set -e` policy; every helper here works under `set -euo pipefail`.

# The checkout this file belongs to.
APIBENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Ports and URLs of the private services (docs/ARCHITECTURE.md). The overrides exist for
# testing the scripts beside a running instance; everything else assumes the defaults.
APIBENCH_PG_PORT=${APIBENCH_PG_PORT:-55432}
APIBENCH_REDIS_PORT=${APIBENCH_REDIS_PORT:-56379}
APIBENCH_SMTP_PORT=${APIBENCH_SMTP_PORT:-52525}
APIBENCH_PRIVATE_DATABASE_URL="postgresql://apibench@127.0.0.1:$APIBENCH_PG_PORT/apibench"
APIBENCH_PRIVATE_APP_DATABASE_URL="postgresql://apibench_app@127.0.0.1:$APIBENCH_PG_PORT/apibench"
APIBENCH_PRIVATE_WORKER_DATABASE_URL="postgresql://apibench_worker@127.0.0.1:$APIBENCH_PG_PORT/apibench"
APIBENCH_PRIVATE_REDIS_URL="redis://127.0.0.1:$APIBENCH_REDIS_PORT/0"
APIBENCH_PRIVATE_SMTP_URL="smtp://127.0.0.1:$APIBENCH_SMTP_PORT"

# PostgreSQL 15 server binaries (Debian keeps them off PATH).
APIBENCH_PGBIN=/usr/lib/postgresql/15/bin

# The Debian packages the project needs to build, test and reproduce.
APIBENCH_PACKAGES=(
    build-essential cmake pkg-config
    libpq-dev libhiredis-dev zlib1g-dev libcurl4-openssl-dev libssl-dev libjansson-dev
    libcmocka-dev libmicrohttpd-dev
    clang-14 libclang-rt-14-dev
    postgresql-15 postgresql-client-15 redis-server redis-tools python3 python3-aiosmtpd python3-yaml
    python3-kubernetes
    gnuplot-nox wrk nginx-light docker-compose pgbouncer
    curl jq openssl procps util-linux iproute2 git ca-certificates
    libhdrhistogram-java openjdk-17-jre-headless
)

# ab_say MSG... - progress line on stderr, prefixed with the calling script's name.
ab_say() { printf '%s: %s\n' "${AB_PROG:-apibench}" "$*" >&2; }

# ab_die MSG... - one-line error on stderr, exit 1.
ab_die() { printf '%s: %s\n' "${AB_PROG:-apibench}" "$*" >&2; exit 1; }

# ab_mask_passwords TEXT - prints TEXT with the passwords of URLs (scheme://user:PW@host)
# and of password= parameters replaced by ***: the rule of core/src/urlmask.c, for what the
# scripts write to run.info and logs (tests/integration/test_security.sh checks both).
ab_mask_passwords() {
    printf '%s\n' "$1" | sed -E -e 's#(://[^/?\#@: ]*):[^/?\# ]*@#\1:***@#g' \
        -e "s#(^|[?& ])([Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]=)('[^']*'|[^&\# ]*)#\1\2***#g"
}

# ab_is_root - true when running as root.
ab_is_root() { [ "$(id -u)" -eq 0 ]; }

# ab_missing_packages - prints the packages of APIBENCH_PACKAGES not installed, one a line.
ab_missing_packages() {
    local p status
    for p in "${APIBENCH_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$status" in
            *" installed") ;;
            *) printf '%s\n' "$p" ;;
        esac
    done
}

# ab_pg_user - the unprivileged user that owns and runs the private postgres:
# "postgres" when we are root, ourselves otherwise.
ab_pg_user() {
    if ab_is_root; then echo postgres; else id -un; fi
}

# ab_as_pg CMD... - runs CMD as the postgres owner (runuser when root). Closes fd 9
# (the services lock) so that a daemon started this way does not hold it.
ab_as_pg() {
    if ab_is_root; then
        # From /, which postgres can always enter (the caller's folder may be private).
        (cd / && runuser -u postgres -- "$@" 9>&-)
    else
        "$@" 9>&-
    fi
}

# ab_state_dir - prints the state folder: $APIBENCH_STATE, else <checkout>/.apibench, else
# (when the postgres user cannot enter the checkout) /tmp/apibench-<hash of the path>.
ab_state_dir() {
    if [ -n "${APIBENCH_STATE:-}" ]; then
        case "$APIBENCH_STATE" in
            /*) printf '%s\n' "$APIBENCH_STATE" ;;
            *) printf '%s/%s\n' "$PWD" "$APIBENCH_STATE" ;;
        esac
        return
    fi
    if ab_is_root && id postgres >/dev/null 2>&1 &&
        ! runuser -u postgres -- test -x "$APIBENCH_ROOT" 2>/dev/null; then
        printf '/tmp/apibench-%s\n' "$(printf '%s' "$APIBENCH_ROOT" | sha1sum | cut -c1-10)"
        return
    fi
    printf '%s\n' "$APIBENCH_ROOT/.apibench"
}

# ab_psql - prints the psql binary to use (the PostgreSQL 15 one when present).
ab_psql() {
    if [ -x "$APIBENCH_PGBIN/psql" ]; then
        echo "$APIBENCH_PGBIN/psql"
    else
        command -v psql || echo psql
    fi
}

# ab_wait_tcp HOST PORT TIMEOUT_S - waits until HOST:PORT accepts a TCP connection.
# Returns 1 on timeout.
ab_wait_tcp() {
    local host=$1 port=$2 timeout=$3 i
    for ((i = 0; i < timeout * 10; i++)); do
        if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# ab_tcp_open HOST PORT - true when HOST:PORT accepts a TCP connection now.
ab_tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ab_pid_alive PID - true when PID names a live process (zombies count as gone).
ab_pid_alive() {
    local pid=$1 state
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
    case "$state" in
        Z*|"") return 1 ;;
    esac
    return 0
}

# ab_wait_pid_gone PID TIMEOUT_S - waits until PID has exited. Returns 1 on timeout.
ab_wait_pid_gone() {
    local pid=$1 timeout=$2 i
    for ((i = 0; i < timeout * 10; i++)); do
        ab_pid_alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

# ab_read_pid FILE - prints the first line of a pid file, or nothing.
ab_read_pid() {
    [ -r "$1" ] && head -n1 "$1" 2>/dev/null | tr -dc '0-9' || true
}

# ab_url_with_db URL DBNAME - prints URL with its database name replaced by DBNAME
# (postgresql://user[:pw]@host[:port]/db[?params]).
ab_url_with_db() {
    local url=$1 db=$2 base query=""
    case "$url" in
        *\?*) query="?${url#*\?}"; url=${url%%\?*} ;;
    esac
    base=${url#*://}
    if [[ "$base" == */* ]]; then
        base="${url%/*}"
    else
        base="$url"
    fi
    printf '%s/%s%s\n' "$base" "$db" "$query"
}

# ab_nginx_conf DIR PORT [HTTP_EXTRA SERVER_BODY] - writes DIR/nginx.conf for a private
# nginx on 127.0.0.1:PORT serving DIR/www, quietly (no access log), with keep-alive without
# limit and `gzip_static on` (a client that accepts gzip gets FILE.gz where it exists:
# compressed once, as a cache of encoded bodies would serve it). HTTP_EXTRA goes into the
# http block and SERVER_BODY replaces the server's `root` (the load balancer of
# scripts/lib/instances.sh: an upstream and a proxy_pass). Start it with
#   nginx -p DIR -e DIR/logs/error.log -c DIR/nginx.conf -g 'daemon off;'
ab_nginx_conf() {
    local dir=$1 port=$2 user= extra=${3:-} body=${4:-"root $1/www;"}
    mkdir -p "$dir/www" "$dir/logs" "$dir/tmp"
    # Started as root, nginx runs its workers as an unprivileged user, who may not enter
    # DIR (a results folder under a private temporary folder, a checkout only root can
    # enter): this loopback-only nginx keeps root's workers instead.
    ab_is_root && user="user root;"
    cat >"$dir/nginx.conf" <<CONF
$user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    default_type application/json;
    gzip_static on;
    gzip_vary on;
$extra
    server { listen 127.0.0.1:$port; $body }
}
CONF
}

