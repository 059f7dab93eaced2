#!/usr/bin/env bash
# test_compose.sh - docker-compose.yml is valid for Debian's docker-compose and matches
# scripts/services: the three services, their 127.0.0.1 host ports, healthchecks,
# pg_stat_statements preloaded, Redis appendonly, and the init script creating the roles.
# There is no Docker engine here, so the file is checked, not run.
. "$(dirname "$0")/lib.sh"

command -v docker-compose >/dev/null ||
    fail "docker-compose not found (scripts/deps installs Debian's docker-compose package)"

# docker-compose.yml publishes the default ports (APIBENCH_*_PORT overrides are for
# testing the scripts beside a running instance, not for compose).
PG_PORT=55432 REDIS_PORT=56379 SMTP_PORT=52525
cd "$SOURCE_DIR" || fail "cannot enter $SOURCE_DIR"
for kv in PG:$PG_PORT REDIS:$REDIS_PORT SMTP:$SMTP_PORT; do
    check 'grep -q "^APIBENCH_${kv%%:*}_PORT=\${APIBENCH_${kv%%:*}_PORT:-${kv#*:}}\$" scripts/lib.sh' \
        "scripts/lib.sh's default ${kv%%:*} port is ${kv#*:}, as in docker-compose.yml"
done
config=$(docker-compose -f docker-compose.yml config 2>&1) ||
    fail "docker-compose config rejects docker-compose.yml: $config"
services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
check '[ "$services" = "postgres redis smtp " ]' "services are postgres, redis and smtp (got '$services')"

# Structural checks on the resolved configuration (python3-yaml comes with docker-compose).
COMPOSE_CONFIG=$config /usr/bin/python3 - "$PG_PORT" "$REDIS_PORT" "$SMTP_PORT" <<'EOF' ||
import os, sys, yaml
pg_port, redis_port, smtp_port = sys.argv[1:4]
cfg = yaml.safe_load(os.environ["COMPOSE_CONFIG"])
svc = cfg["services"]
problems = []

def need(cond, what):
    if not cond:
        problems.append(what)

want_ports = {"postgres": ("127.0.0.1:%s:5432" % pg_port),
              "redis": ("127.0.0.1:%s:6379" % redis_port),
              "smtp": ("127.0.0.1:%s:52525" % smtp_port)}
for name, want in want_ports.items():
    ports = [str(p).split("/")[0] for p in svc[name].get("ports", [])]
    need(want in ports, "%s publishes %s (has %s)" % (name, want, ports))
    hc = svc[name].get("healthcheck", {})
    need(hc.get("test"), "%s has a healthcheck" % name)

pg = svc["postgres"]
need(str(pg["image"]).startswith("postgres:15"), "postgres image is postgres:15")
cmd = " ".join(pg.get("command") or [])
need("shared_preload_libraries=pg_stat_statements" in cmd, "postgres preloads pg_stat_statements")
env = pg.get("environment", {})
need(env.get("POSTGRES_USER") == "apibench", "postgres superuser is apibench")
need(env.get("POSTGRES_DB") == "apibench", "postgres database is apibench")
need(env.get("POSTGRES_HOST_AUTH_METHOD") == "trust", "postgres uses trust auth")
need(any("/docker-entrypoint-initdb.d/" in v for v in pg.get("volumes", [])),
     "postgres mounts an init script")

rd = svc["redis"]
need(str(rd["image"]).startswith("redis:7"), "redis image is redis:7")
rcmd = rd.get("command") or []
need("--appendonly" in rcmd and rcmd[rcmd.index("--appendonly") + 1] == "yes",
     "redis runs with --appendonly yes")

sm = svc["smtp"]
need("smtp_sink.py" in " ".join(sm.get("command") or []), "smtp runs scripts/smtp_sink.py")
need(any("smtp_sink.py" in v for v in sm.get("volumes", [])), "smtp mounts scripts/smtp_sink.py")

for p in problems:
    print("compose: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
    fail "docker-compose.yml does not match the scripts' services (see above)"

# The init script creates the two login roles the URLs in docs/ARCHITECTURE.md use.
init=$(grep -o '\./sql/[a-z_-]*\.sql' docker-compose.yml | head -n1)
check '[ -n "$init" ] && [ -f "$init" ]' "the init script mounted by docker-compose.yml exists ($init)"
for role in apibench_app apibench_worker; do
    check 'grep -Eq "CREATE ROLE $role LOGIN" "$init"' "$init creates role $role"
    check 'grep -q "postgresql://$role@127.0.0.1:$PG_PORT/apibench" docs/ARCHITECTURE.md' \
        "docs/ARCHITECTURE.md's URL for $role matches the compose port"
done

note "ok: docker-compose config accepts docker-compose.yml; services, ports and healthchecks match"
