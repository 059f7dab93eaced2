/* config.c - defaults, then environment, then flags, from one table so that --help, the
 * environment names and the parser cannot drift apart. */
#include "apibench/config.h"
#include "apibench/redis_prefix.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind { OPT_STRING, OPT_INT, OPT_SIZE, OPT_BOOL };

struct option_def {
    const char *flag;   /* without the leading "--" */
    const char *env;    /* NULL: flag only */
    enum opt_kind kind;
    size_t offset;      /* into struct config */
    long min, max;      /* for ints and sizes */
    const char *help;
};

#define OFF(field) offsetof(struct config, field)

static const struct option_def options[] = {
    {"bind", "APIBENCH_BIND", OPT_STRING, OFF(bind_address), 0, 0,
     "address to listen on (loopback by default)"},
    {"port", "PORT", OPT_INT, OFF(port), 1, 65535, "TCP port"},
    {"database-url", "DATABASE_URL", OPT_STRING, OFF(database_url), 0, 0,
     "PostgreSQL URL (APP_DATABASE_URL, when set, wins over DATABASE_URL)"},
    {"redis-url", "REDIS_URL", OPT_STRING, OFF(redis_url), 0, 0, "Redis URL (03-cache on)"},
    {"redis-prefix", "APIBENCH_REDIS_PREFIX", OPT_STRING, OFF(redis_prefix), 0, 0,
     "put before every Redis key and channel (one Redis, several students)"},
    {"smtp-url", "SMTP_URL", OPT_STRING, OFF(smtp_url), 0, 0, "SMTP server for reports"},
    {"mail-from", "MAIL_FROM", OPT_STRING, OFF(mail_from), 0, 0, "sender of report e-mails"},
    {"threads", "APIBENCH_THREADS", OPT_INT, OFF(threads), 1, 1024,
     "HTTP worker threads (each runs its handlers to completion)"},
    {"max-connections", "APIBENCH_MAX_CONNECTIONS", OPT_INT, OFF(max_connections), 1, 65536,
     "concurrent client connections accepted"},
    {"max-per-ip", "APIBENCH_MAX_PER_IP", OPT_INT, OFF(max_per_ip), 0, 65536,
     "concurrent connections from one client address (0: no limit)"},
    {"connection-timeout", "APIBENCH_CONNECTION_TIMEOUT", OPT_INT, OFF(connection_timeout_s),
     1, 86400, "seconds an idle keep-alive connection is kept (2 when busy)"},
    {"request-timeout", "APIBENCH_REQUEST_TIMEOUT", OPT_INT, OFF(request_timeout_s), 1, 86400,
     "seconds a request's header or body may stall before it is dropped"},
    {"max-body", "APIBENCH_MAX_BODY", OPT_SIZE, OFF(max_body_bytes), 1, 1L << 30,
     "largest request body in bytes (k/m suffixes); larger gets 413"},
    {"pool-max", "APIBENCH_POOL_MAX", OPT_INT, OFF(pool_max), 1, 1000, "pool: most connections"},
    {"pool-min", "APIBENCH_POOL_MIN", OPT_INT, OFF(pool_min), 0, 1000,
     "pool: connections kept open"},
    {"pool-idle-ms", "APIBENCH_POOL_IDLE_MS", OPT_INT, OFF(pool_idle_ms), 0, INT_MAX,
     "pool: close connections idle this long (above the minimum)"},
    {"pool-acquire-timeout-ms", "APIBENCH_POOL_ACQUIRE_TIMEOUT_MS", OPT_INT,
     OFF(pool_acquire_timeout_ms), 1, INT_MAX, "pool: wait this long, then answer 503"},
    {"ingest-lock", "APIBENCH_INGEST_LOCK", OPT_BOOL, OFF(ingest_lock), 0, 0,
     "serialise every ingest on one lock, as before readings.id had a sequence (to measure)"},
    {"l1-ttl-ms", "APIBENCH_L1_TTL_MS", OPT_INT, OFF(l1_ttl_ms), 0, INT_MAX,
     "cache: in-process entry lifetime"},
    {"l1-max-entries", "APIBENCH_L1_MAX_ENTRIES", OPT_SIZE, OFF(l1_max_entries), 1, 1L << 30,
     "cache: in-process entries kept at most"},
    {"l2-static-ttl", "APIBENCH_L2_STATIC_TTL", OPT_INT, OFF(l2_static_ttl_s), 1, INT_MAX,
     "cache: Redis TTL in seconds for static data"},
    {"l2-dynamic-ttl", "APIBENCH_L2_DYNAMIC_TTL", OPT_INT, OFF(l2_dynamic_ttl_s), 1, INT_MAX,
     "cache: Redis TTL in seconds for dynamic data"},
    {"gzip-level", "APIBENCH_GZIP_LEVEL", OPT_INT, OFF(gzip_level), 1, 9,
     "gzip: compression level"},
    {"gzip-threshold", "APIBENCH_GZIP_THRESHOLD", OPT_SIZE, OFF(gzip_threshold), 0, 1L << 30,
     "gzip: smallest body compressed, in bytes"},
    {"access-log", "APIBENCH_ACCESS_LOG", OPT_BOOL, OFF(access_log), 0, 0,
     "one buffered line per request on stderr"},
    {"quiet", "APIBENCH_QUIET", OPT_BOOL, OFF(quiet), 0, 0,
     "no access log (the default; kept for scripts)"},
};
#define NOPTIONS (sizeof options / sizeof options[0])

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind_address = "127.0.0.1";
    cfg->port = 8080;
    cfg->database_url = "postgresql://apibench_app@127.0.0.1:55432/apibench";
    cfg->redis_url = "redis://127.0.0.1:56379/0";
    cfg->redis_prefix = "";
    cfg->smtp_url = "smtp://127.0.0.1:52525";
    cfg->mail_from = "apibench@localhost";
    /* 32 threads: at least the pool maximum (20), so that the pool and not the thread
     * count bounds concurrent database work, as in the article's event-loop server. */
    cfg->threads = 32;
    cfg->max_connections = 1024;
    cfg->max_per_ip = 256;
    cfg->connection_timeout_s = 60;
    cfg->request_timeout_s = 10;
    cfg->max_body_bytes = 1024 * 1024;
    cfg->pool_max = 20;
    cfg->pool_min = 5;
    cfg->pool_idle_ms = 30000;
    cfg->pool_acquire_timeout_ms = 2000;
    cfg->l1_ttl_ms = 5000;
    cfg->l1_max_entries = 10000;
    cfg->l2_static_ttl_s = 300;
    cfg->l2_dynamic_ttl_s = 30;
    cfg->gzip_level = 6;
    cfg->gzip_threshold = 1024;
    cfg->access_log = false;
    cfg->quiet = false;
}

/* Parses a decimal number with an optional k/m/g suffix (sizes only). */
static int parse_number(const char *s, bool suffixes, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    if (suffixes && *end) {
        long long mult = 1;
        switch (*end) {
        case 'k': case 'K': mult = 1024; break;
        case 'm': case 'M': mult = 1024 * 1024; break;
        case 'g': case 'G': mult = 1024 * 1024 * 1024; break;
        default: return -1;
        }
        end++;
        if (v > LLONG_MAX / mult)
            return -1;
        v *= mult;
    }
    if (*end != '\0' || v < min || v > max)
        return -1;
    *out = (long)v;
    return 0;
}

static int apply(struct config *cfg, const struct option_def *o, const char *value,
                 const char *source, char *err, size_t errlen)
{
    char *field = (char *)cfg + o->offset;
    long n;
    switch (o->kind) {
    case OPT_STRING:
        *(const char **)(void *)field = value;
        return 0;
    case OPT_BOOL:
        if (!value || !*value || strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
            strcmp(value, "yes") == 0) {
            *(bool *)(void *)field = true;
            return 0;
        }
        if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 || strcmp(value, "no") == 0) {
            *(bool *)(void *)field = false;
            return 0;
        }
        break;
    case OPT_INT:
        if (parse_number(value, false, o->min, o->max, &n) == 0) {
            *(int *)(void *)field = (int)n;
            return 0;
        }
        break;
    case OPT_SIZE:
        if (parse_number(value, true, o->min, o->max, &n) == 0) {
            *(size_t *)(void *)field = (size_t)n;
            return 0;
        }
        break;
    }
    snprintf(err, errlen, "invalid %s '%s': expected %s", source, value,
             o->kind == OPT_BOOL ? "true or false" : "a number in range");
    return -1;
}

static void print_help(const char *build_name)
{
    struct config d;
    config_defaults(&d);
    printf("usage: apibench-%s [OPTIONS]\n\n"
           "Serves the apibench API (docs/API.md) as build %s.\n"
           "Each option can also come from the environment variable shown; flags win.\n\n",
           build_name, build_name);
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option_def *o = &options[i];
        const char *field = (const char *)&d + o->offset;
        char flag[64], def[128];
        snprintf(flag, sizeof flag, "--%s%s", o->flag, o->kind == OPT_BOOL ? "" : " V");
        switch (o->kind) {
        case OPT_STRING: {
            const char *v = *(const char *const *)(const void *)field;
            snprintf(def, sizeof def, "%s", v && *v ? v : "none");
            break;
        }
        case OPT_INT:
            snprintf(def, sizeof def, "%d", *(const int *)(const void *)field);
            break;
        case OPT_SIZE:
            snprintf(def, sizeof def, "%zu", *(const size_t *)(const void *)field);
            break;
        case OPT_BOOL:
            snprintf(def, sizeof def, "%s", *(const bool *)(const void *)field ? "on" : "off");
            break;
        }
        printf("  %-30s %s\n  %-30s [env %s; default %s]\n", flag, o->help, "",
               o->env ? o->env : "-", def);
    }
    printf("  %-30s %s\n", "--needs",
           "print what this build needs around it (indexes, schema, worker) and exit");
    printf("  %-30s %s\n", "--help", "print this and exit");
}

int config_parse(struct config *cfg, const char *build_name, int argc, char **argv, char *err,
                 size_t errlen)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *v = options[i].env ? getenv(options[i].env) : NULL;
        if (options[i].offset == OFF(database_url) && getenv("APP_DATABASE_URL"))
            v = getenv("APP_DATABASE_URL");
        if (v && *v && apply(cfg, &options[i], v, options[i].env, err, errlen) != 0)
            return -1;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(build_name);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
        const struct option_def *o = NULL;
        for (size_t i = 0; i < NOPTIONS; i++)
            if (strlen(options[i].flag) == namelen && strncmp(options[i].flag, name, namelen) == 0)
                o = &options[i];
        if (!o) {
            snprintf(err, errlen, "unknown option '%.*s' (see --help)", (int)(namelen + 2), arg);
            return -1;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (o->kind == OPT_BOOL)
            value = "true";
        else if (a + 1 < argc)
            value = argv[++a];
        else {
            snprintf(err, errlen, "option '--%s' needs a value", o->flag);
            return -1;
        }
        char source[80];
        snprintf(source, sizeof source, "--%s", o->flag);
        if (apply(cfg, o, value, source, err, errlen) != 0)
            return -1;
    }
    if (redis_prefix_check(cfg->redis_prefix, err, errlen) != 0)
        return -1;
    if (cfg->pool_min > cfg->pool_max) {
        snprintf(err, errlen, "invalid pool: --pool-min %d is above --pool-max %d",
                 cfg->pool_min, cfg->pool_max);
        return -1;
    }
    return 0;
}
