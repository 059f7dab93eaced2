/* config.h - one server configuration, from defaults, then the environment, then flags. */
#ifndef APIBENCH_CONFIG_H
#define APIBENCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct config {
    const char *bind_address;    /* APIBENCH_BIND, --bind; default 127.0.0.1 */
    int port;                    /* PORT, --port; default 8080 */
    const char *database_url;    /* DATABASE_URL, --database-url */
    const char *redis_url;       /* REDIS_URL, --redis-url */
    const char *redis_prefix;    /* APIBENCH_REDIS_PREFIX, --redis-prefix; default "" */
    const char *smtp_url;        /* SMTP_URL, --smtp-url; default smtp://127.0.0.1:52525 */
    const char *mail_from;       /* MAIL_FROM, --mail-from */
    int threads;                 /* APIBENCH_THREADS, --threads; HTTP worker threads */
    size_t max_body_bytes;       /* --max-body; request bodies above this get 413 */
    /* pool (04-pool on) */
    int pool_max;                /* --pool-max, default 20 */
    int pool_min;                /* --pool-min, default 5 */
    int pool_idle_ms;            /* --pool-idle-ms, default 30000 */
    int pool_acquire_timeout_ms; /* --pool-acquire-timeout-ms, default 2000 */
    bool ingest_lock;            /* --ingest-lock: serialise ingests (the old design) */
    /* cache (03-cache on) */
    int l1_ttl_ms;               /* --l1-ttl-ms, default 5000 */
    size_t l1_max_entries;       /* --l1-max-entries, default 10000 */
    int l2_static_ttl_s;         /* --l2-static-ttl, default 300 */
    int l2_dynamic_ttl_s;        /* --l2-dynamic-ttl, default 30 */
    /* gzip (05-gzip on) */
    int gzip_level;              /* --gzip-level, default 6 */
    size_t gzip_threshold;       /* --gzip-threshold, default 1024 */
    bool access_log;             /* --access-log: one buffered line per request on stderr */
    bool quiet;                  /* --quiet: accepted for compatibility (no log is the default) */
    /* HTTP limits (additions by the server engineer) */
    int max_connections;         /* --max-connections, default 1024 */
    int max_per_ip;              /* --max-per-ip, default 256 (0: no limit) */
    int connection_timeout_s;    /* --connection-timeout, default 60: idle keep-alive limit */
    int request_timeout_s;       /* --request-timeout, default 10: a stalled header or body */
};

/* Fills cfg with defaults. */
void config_defaults(struct config *cfg);

/* Applies the environment, then argv. Returns 0, 1 when --help was printed (the caller
 * exits 0), or -1 with a one-line message in err. Strings point into argv or environ. */
int config_parse(struct config *cfg, const char *build_name, int argc, char **argv, char *err,
                 size_t errlen);

#endif
