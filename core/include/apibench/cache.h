/* cache.h - response cache strategies.
 *
 * Entries live in namespaces: "latest" (every /api/readings/latest page), "device:ID"
 * (everything about one device). A key within a namespace is the rest of the request
 * (user, path, query). Invalidating a namespace drops all its entries on every instance.
 * The cache stores rendered JSON bodies, before encoding. */
#ifndef APIBENCH_CACHE_H
#define APIBENCH_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct cache;

enum cache_class {
    CACHE_STATIC,  /* device metadata: L2 TTL 5 min */
    CACHE_DYNAMIC  /* readings and stats: L2 TTL 30 s */
};

struct cache_ops {
    const char *name;
    /* Returns NULL and fills err only for bad configuration: an unreachable Redis is not
     * an error (the cache fails open and counts it). */
    struct cache *(*open)(const struct config *cfg, char *err, size_t errlen);
    /* Returns a malloc'd copy of the body (caller frees) and its length, or NULL on miss.
     * *level is set to "l1" or "l2" on a hit. */
    char *(*get)(struct cache *c, const char *ns, const char *key, size_t *len, const char **level);
    void (*put)(struct cache *c, const char *ns, const char *key, const char *body, size_t len,
                enum cache_class cls);
    /* Drops ns here and on every other instance (Redis DEL + PUBLISH). */
    void (*invalidate)(struct cache *c, const char *ns);
    void (*close)(struct cache *c);
};

extern const struct cache_ops cache_none;   /* 01, 02: every get misses, put does nothing */
extern const struct cache_ops cache_tiered; /* 03 on: L1 in-process TTL map + L2 Redis */

/* A cache_tiered cache's puts and invalidations that could not reach Redis so far (what
 * apibench keys --revoke checks after invalidating). */
uint64_t cache_tiered_write_errors(const struct cache *c);

#endif
