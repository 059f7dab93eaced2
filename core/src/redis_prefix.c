/* redis_prefix.c - validation of the Redis key prefix (redis_prefix.h). */
#include "apibench/redis_prefix.h"

#include <stdio.h>
#include <string.h>

int redis_prefix_check(const char *prefix, char *err, size_t errlen)
{
    if (!prefix)
        return 0;
    size_t n = strlen(prefix);
    if (n > REDIS_PREFIX_MAX) {
        snprintf(err, errlen, "invalid redis prefix: %zu characters (at most %d)", n,
                 REDIS_PREFIX_MAX);
        return -1;
    }
    size_t ok = strspn(prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_:.-");
    if (ok != n) {
        snprintf(err, errlen,
                 "invalid redis prefix '%s': character %zu is not one of A-Z a-z 0-9 _ : . -",
                 prefix, ok + 1);
        return -1;
    }
    return 0;
}
