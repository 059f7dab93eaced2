/* solution.c - lab 03-cache: the response cache of apibench-lab-03.
 *
 * It starts as 02-indexes's cache_none: every get misses and put stores nothing. The
 * handlers already call get before a query set and put after it, and invalidate the
 * "latest" and "device:ID" namespaces when an ingest commits (cache.h). Make get answer
 * what put stored until it expires or its namespace is invalidated. An in-process map
 * (ttlmap.h) is a start; Redis (hiredis) lets several instances share it. */
#include "lab.h"

static struct cache *lab_open(const struct config *cfg, char *err, size_t errlen)
{
    /* TODO: allocate your cache's state (and connect to cfg's Redis, if you use it). */
    return cache_none.open(cfg, err, errlen);
}

static bool lab_get(struct cache *c, const char *ns, const char *key, struct cache_entry *out,
                    const char **level)
{
    /* TODO: a hit fills out with malloc'd copies and sets *level to "l1" or "l2". */
    return cache_none.get(c, ns, key, out, level);
}

static void lab_put(struct cache *c, const char *ns, const char *key, const struct cache_entry *e,
                    enum cache_class cls)
{
    /* TODO: keep copies of e's forms; cls says how long they may be served. */
    cache_none.put(c, ns, key, e, cls);
}

static void lab_invalidate(struct cache *c, const char *ns)
{
    /* TODO: after this, no get may return an entry of ns stored before. */
    cache_none.invalidate(c, ns);
}

static void lab_close(struct cache *c)
{
    cache_none.close(c);
}

const struct cache_ops lab_cache = {
    .name = "lab",
    .open = lab_open,
    .get = lab_get,
    .put = lab_put,
    .invalidate = lab_invalidate,
    .close = lab_close,
};
