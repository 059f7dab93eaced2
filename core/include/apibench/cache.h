/* cache.h - response cache strategies.
 *
 * Entries live in namespaces: "latest" (every /api/readings/latest page), "device:ID"
 * (everything about one device). A key within a namespace is the rest of the request
 * (user, path, query). Invalidating a namespace drops all its entries on every instance.
 * An entry is a rendered JSON body and, from builds that compress, its gzip encoding made
 * once when the entry was filled (encoder.h: precompress), so that hits never compress. */
#ifndef APIBENCH_CACHE_H
#define APIBENCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct cache;

enum cache_class {
    CACHE_STATIC,  /* device metadata: L2 TTL 5 min */
    CACHE_DYNAMIC  /* readings and stats: L2 TTL 30 s */
};

/* One entry's forms. */
struct cache_entry {
    char *body; /* the identity body, NUL-terminated */
    size_t len;
    char *gzip; /* its gzip encoding, or NULL (identity builds, small bodies) */
    size_t gzip_len;
};

/* Frees what a get filled in and clears it. Accepts an empty entry. */
void cache_entry_free(struct cache_entry *e);

struct cache_ops {
    const char *name;
    /* Returns NULL and fills err only for bad configuration: an unreachable Redis is not
     * an error (the cache fails open and counts it). */
    struct cache *(*open)(const struct config *cfg, char *err, size_t errlen);
    /* On a hit fills out with malloc'd copies (free with cache_entry_free), sets *level to
     * "l1" or "l2" and returns true; on a miss returns false and leaves out empty. */
    bool (*get)(struct cache *c, const char *ns, const char *key, struct cache_entry *out,
                const char **level);
    /* Stores copies of e's forms (e->gzip may be NULL). */
    void (*put)(struct cache *c, const char *ns, const char *key, const struct cache_entry *e,
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
