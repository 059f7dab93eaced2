/* cache_none.c - the "no cache" strategy of builds 01 and 02.
 *
 * Every get misses and nothing is counted: with no cache there are no lookups, so the
 * cache counters of these builds stay at zero and the reproduction reports the hit rate
 * of 01/02 as 0% ("no cache"), not as a run of misses. */
#include "apibench/cache.h"

#include <stddef.h>

/* A non-NULL handle so that callers can tell "opened" from "failed to open". */
static int none_handle;

static struct cache *none_open(const struct config *cfg, char *err, size_t errlen)
{
    (void)cfg;
    (void)err;
    (void)errlen;
    return (struct cache *)&none_handle;
}

static bool none_get(struct cache *c, const char *ns, const char *key, struct cache_entry *out,
                     const char **level)
{
    (void)c;
    (void)ns;
    (void)key;
    *out = (struct cache_entry){0};
    if (level)
        *level = NULL;
    return false;
}

static void none_put(struct cache *c, const char *ns, const char *key, const struct cache_entry *e,
                     enum cache_class cls)
{
    (void)c;
    (void)ns;
    (void)key;
    (void)e;
    (void)cls;
}

static void none_invalidate(struct cache *c, const char *ns)
{
    (void)c;
    (void)ns;
}

static void none_close(struct cache *c)
{
    (void)c;
}

const struct cache_ops cache_none = {
    .name = "none",
    .open = none_open,
    .get = none_get,
    .put = none_put,
    .invalidate = none_invalidate,
    .close = none_close,
};
