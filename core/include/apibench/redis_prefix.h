/* redis_prefix.h - the Redis key prefix (--redis-prefix, APIBENCH_REDIS_PREFIX) that keeps
 * several deployments on one Redis apart, such as the students of a workshop: every key and
 * pub/sub channel that the servers and apibench-worker use is "<prefix><name>". The default,
 * "", leaves every name exactly as it was. */
#ifndef APIBENCH_REDIS_PREFIX_H
#define APIBENCH_REDIS_PREFIX_H

#include <stddef.h>

#define REDIS_PREFIX_MAX 64 /* characters */

/* Checks a prefix: NULL or "" (none), or at most REDIS_PREFIX_MAX characters from
 * [A-Za-z0-9_:.-], so that it can never hide a glob character from a --scan pattern or
 * blur where one deployment's keys end. Returns 0, or -1 with a message in err. */
int redis_prefix_check(const char *prefix, char *err, size_t errlen);

#endif
