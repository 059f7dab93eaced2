/* indexes.h - the start-up check that the indexes a query set relies on exist. */
#ifndef APIBENCH_INDEXES_H
#define APIBENCH_INDEXES_H

#include <stddef.h>

struct dbconn;

/* The sql/ file that creates index name, or NULL if none is known. */
const char *indexes_source_file(const char *name);

/* Checks that every name in required (NULL-terminated; NULL means none) exists in the
 * connection's current schema. Returns 0; -1 with a message naming the first missing
 * index and the file that creates it; -2 when the check itself failed (message says why). */
int indexes_check(struct dbconn *c, const char *const *required, char *err, size_t errlen);

#endif
