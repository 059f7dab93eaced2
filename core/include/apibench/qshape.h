/* qshape.h - what both query sets share: the JSON shapes of the API's objects (so that
 * key order and value forms cannot differ between sets), paging, parameter formatting and
 * the mapping of database failures to API errors. */
#ifndef APIBENCH_QSHAPE_H
#define APIBENCH_QSHAPE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "queries.h"
#include "request.h"

struct dbconn;
struct cursor;
struct stmt;

/* Column numbers of a result holding readings; -1 for a column the shape leaves out. */
struct reading_cols {
    int id, device_id, device_name, site_id, site_name, timestamp, temperature, humidity,
        battery, rssi;
};

/* A reading as a new JSON object, keys in the API's order, from row of r. site_name, when
 * not NULL, is used (stolen) instead of a column. */
json_t *qshape_reading(const PGresult *r, int row, const struct reading_cols *cols,
                       json_t *site_name);

/* {"readings": readings (stolen), "count": n, "limit": limit, "next_cursor": ...}. When
 * more is true, the cursor names the last reading of the page and the offset after it. */
json_t *qshape_latest_page(json_t *readings, int limit, bool more, int64_t page_offset);

/* {"device_id","hours","limit","count","readings": readings (stolen)}. */
json_t *qshape_device_readings(int device_id, int hours, int limit, json_t *readings);

/* Fills c from the last element of readings (as shaped above), with offset. Returns 0/-1. */
int qshape_cursor_after(const json_t *readings, int64_t offset, struct cursor *c);

/* The caller's sites as a PostgreSQL int[] literal ("{1,2,3}") in out. */
void qshape_sites_param(const struct caller *who, char *out, size_t outlen);

/* Runs s through db_query and requires success; on failure maps the error into err
 * (qshape_db_error) and returns NULL. The caller PQclears a non-NULL result. */
PGresult *qshape_run(struct dbconn *c, const struct stmt *s, const char *const *params,
                     struct apierr *err);

/* Maps a failed statement to err and clears r: 503 (Retry-After 1) when the connection is
 * gone, else 500 with the server log getting PostgreSQL's message. Returns -1. */
int qshape_db_error(struct dbconn *c, PGresult *r, const char *what, struct apierr *err);

/* Finds the n-th (0-based) column called name in r, or -1: SELECT * over a join repeats
 * names such as "id". */
int qshape_col(const PGresult *r, const char *name, int nth);

/* {"min","max","avg"} from three consecutive columns starting at col. */
json_t *qshape_triple(const PGresult *r, int row, int col);

/* {"readings": count, "temperature", "humidity", "battery"}; every argument is stolen. */
json_t *qshape_stats(json_t *count, json_t *temperature, json_t *humidity, json_t *battery);

/* Column numbers of a device row; site_name may live in another result. */
struct device_cols {
    int id, name, site_id, model, firmware, status, installed_at, last_seen_at;
};

/* The device detail object, keys in the API's order; latest_reading and stats are stolen
 * (latest_reading may be json_null()). */
json_t *qshape_device(const PGresult *r, int row, const struct device_cols *cols,
                      const PGresult *site_r, int site_row, int site_name_col,
                      json_t *latest_reading, json_t *stats);

/* Takes the one transaction-scoped advisory lock that every ingest shares (--ingest-lock),
 * inside the caller's open transaction. This is the design before readings.id had a
 * sequence: ids were max(id) + n, so each ingest had to wait for the previous one's
 * COMMIT. Ids now always come from the sequence, locked or not, so that servers with and
 * without the lock can share a database without colliding ids; the lock is kept only to
 * measure what serialising every ingest costs (scripts/bench_ingest.sh). Returns 0, or -1
 * with err filled (the caller rolls back). */
int qshape_take_ingest_lock(struct dbconn *c, struct apierr *err);

/* Checks one incoming row's values (the handler checked types). Returns 0, or -1 with a
 * 400 in err naming the row. */
int qshape_check_row(const struct reading_in *row, size_t index, struct apierr *err);

#endif
