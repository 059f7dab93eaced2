/* queries.h - query sets: the SQL behind each endpoint.
 *
 * queries_naive (01) is what a first version of such a service does: SELECT *, OFFSET
 * paging, a COUNT for the total, one query per related row (N+1), no time filter.
 * queries_optimised (02 on) selects the columns it renders, filters to the last day,
 * pages with a keyset cursor and joins instead of looping. Both render the same JSON for
 * the same data and requests (see docs/API.md for the one documented difference). */
#ifndef APIBENCH_QUERIES_H
#define APIBENCH_QUERIES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "request.h"

struct dbconn;

struct latest_params {
    int limit;             /* 1..500, default 100 */
    const char *cursor;    /* opaque, from a previous page's next_cursor; NULL for the first */
};

struct reading_in {
    char timestamp[40];    /* ISO 8601, validated */
    double temperature, humidity, battery;
    int rssi;
};

struct report_request {
    const char *kind;      /* "device" or "site" */
    int target_id;
    int hours;             /* 1..168 */
    const char *email;     /* where to send it */
};

/* Every function returns 0 with *out set to a new JSON reference (the caller decrefs),
 * or -1 with err filled (404 unknown or not yours, 400 bad cursor, 503 database). */
struct queries_ops {
    const char *name;
    /* Index names that must exist for this query set to perform as designed; the server
     * refuses to start when one is missing. NULL-terminated, or NULL for none. */
    const char *const *required_indexes;
    /* key_hash is the SHA-256 of the presented key. 401 when unknown or revoked. */
    int (*authenticate)(struct dbconn *c, const unsigned char key_hash[32], struct caller *out,
                        struct apierr *err);
    int (*latest)(struct dbconn *c, const struct caller *who, const struct latest_params *p,
                  json_t **out, struct apierr *err);
    int (*device_readings)(struct dbconn *c, const struct caller *who, int device_id, int hours,
                           int limit, json_t **out, struct apierr *err);
    int (*device_detail)(struct dbconn *c, const struct caller *who, int device_id, json_t **out,
                         struct apierr *err);
    /* Inserts rows atomically (one transaction); acknowledged only after COMMIT. Reading
     * ids come from the readings.id sequence. With global_lock (--ingest-lock) the
     * transaction first takes the lock every ingest shares (qshape_take_ingest_lock). Sets
     * *site_id to the device's site so that the caller can invalidate what became stale. */
    int (*ingest)(struct dbconn *c, const struct caller *who, int device_id,
                  const struct reading_in *rows, size_t nrows, bool global_lock, int *site_id,
                  json_t **out, struct apierr *err);
};

extern const struct queries_ops queries_naive;
extern const struct queries_ops queries_optimised;

#endif
