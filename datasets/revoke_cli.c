/* revoke_cli.c - `apibench keys --revoke USER`: revokes a user's API keys in the database,
 * then tells every server sharing the cache to forget its cached callers, so that cached
 * builds stop accepting the keys at once instead of when their entries expire. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apibench/auth.h"
#include "apibench/cache.h"
#include "apibench/config.h"
#include "apibench/db.h"
#include "apibench/redis_url.h"
#include "apibench/urlmask.h"
#include "../harness/commands.h"

/* A second invalidation this long after the first drops a caller that a server read from
 * the database just before the revocation committed and stored just after the first. */
#define SECOND_INVALIDATION_MS 1000

static const char revoke_usage[] =
    "usage: apibench keys --revoke USER [--database-url URL] [--redis-url URL] [--no-cache]\n"
    "\n"
    "Revokes every API key of USER (a user id or an e-mail address, as 'apibench keys'\n"
    "prints them), then makes the servers forget their cached callers through the cache's\n"
    "invalidation channel (Redis DEL + PUBLISH), twice, one second apart. From then on\n"
    "every build answers 401 \"api key revoked\"; the other users' keys keep working.\n"
    "\n"
    "  --database-url URL  the database, as the servers were given it: their cache is\n"
    "                      scoped by this URL (default, as for the servers:\n"
    "                      $APP_DATABASE_URL, else $DATABASE_URL)\n"
    "  --redis-url URL     the servers' Redis (default $REDIS_URL, as for the servers)\n"
    "  --redis-prefix P    the servers' Redis key prefix (default $APIBENCH_REDIS_PREFIX)\n"
    "  --no-cache          do not touch Redis: only builds without a cache (01, 02) run,\n"
    "                      and they check keys on every request\n"
    "\n"
    "Exit status 1 when the database or Redis cannot be reached. A revocation whose\n"
    "invalidation failed is still in the database: run the command again once Redis is\n"
    "back (it is safe to repeat).\n";

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Invalidates the "auth" namespace of every instance sharing cfg's Redis and database,
 * twice. Returns 0, or -1 with err when Redis could not be told. */
static int forget_cached_callers(const struct config *cfg, char *err, size_t errlen)
{
    struct cache *c = cache_tiered.open(cfg, err, errlen);
    if (!c)
        return -1;
    auth_forget_cached(&cache_tiered, c);
    if (cache_tiered_write_errors(c) == 0) {
        sleep_ms(SECOND_INVALIDATION_MS);
        auth_forget_cached(&cache_tiered, c);
    }
    int rc = cache_tiered_write_errors(c) == 0 ? 0 : -1;
    if (rc != 0) {
        char where[256];
        url_mask_redis_password(cfg->redis_url, where, sizeof where);
        snprintf(err, errlen, "cannot reach redis at %s", where);
    }
    cache_tiered.close(c);
    return rc;
}

int keys_revoke_main(int argc, char **argv)
{
    static const struct option opts[] = {{"revoke", required_argument, NULL, 'r'},
                                         {"database-url", required_argument, NULL, 'd'},
                                         {"redis-url", required_argument, NULL, 'R'},
                                         {"redis-prefix", required_argument, NULL, 'P'},
                                         {"no-cache", no_argument, NULL, 'n'},
                                         {0, 0, 0, 0}};
    struct config cfg;
    char err[1024] = "";
    const char *user = NULL;
    bool no_cache = false;
    int opt;

    /* the servers' defaults and environment, so that this names their database and cache */
    config_defaults(&cfg);
    char *no_args[] = {argv[0], NULL};
    if (config_parse(&cfg, "keys", 1, no_args, err, sizeof err) != 0) {
        fprintf(stderr, "apibench keys: %s\n", err);
        return 2;
    }
    for (int i = 1; i < argc; i++) /* before getopt, which would take it for USER */
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(revoke_usage, stdout);
            return 0;
        }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            user = optarg;
            break;
        case 'd':
            cfg.database_url = optarg;
            break;
        case 'R':
            cfg.redis_url = optarg;
            break;
        case 'P':
            cfg.redis_prefix = optarg;
            break;
        case 'n':
            no_cache = true;
            break;
        default:
            fputs(revoke_usage, stderr);
            return 2;
        }
    }
    if (!user || !*user || optind != argc) {
        fputs(revoke_usage, stderr);
        return 2;
    }

    if (!no_cache) { /* a Redis URL that cannot work is refused before anything is revoked */
        struct redis_url parsed;
        if (redis_url_parse(cfg.redis_url, &parsed, err, sizeof err) != 0) {
            fprintf(stderr, "apibench keys: %s\n", err);
            return 2;
        }
        redis_url_free(&parsed);
    }

    struct dbconn *c = db_connect(cfg.database_url, "apibench-keys", err, sizeof err);
    if (!c) {
        fprintf(stderr, "apibench keys: %s\n", err);
        return 1;
    }
    int user_id = 0;
    int n = auth_revoke_keys(c, user, &user_id, err, sizeof err);
    db_close(c);
    if (n < 0) {
        fprintf(stderr, "apibench keys: %s\n", err);
        return 1;
    }
    printf("user %d: %d key%s revoked%s\n", user_id, n, n == 1 ? "" : "s",
           n == 0 ? " (none was live)" : "");
    if (no_cache)
        return 0;
    if (forget_cached_callers(&cfg, err, sizeof err) != 0) {
        fprintf(stderr,
                "apibench keys: %s: the servers' caches were not told, so builds with a cache "
                "(03-06) may accept the keys of user %d for up to %d s more; run this again "
                "once redis is back, or pass --no-cache if no build with a cache runs\n",
                err, user_id, cfg.l2_static_ttl_s);
        return 1;
    }
    printf("user %d: cached callers dropped on every server sharing the cache\n", user_id);
    return 0;
}
