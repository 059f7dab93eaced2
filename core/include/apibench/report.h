/* report.h - the report behind POST /api/reports: an aggregation of one device's or one
 * site's readings over the last `hours` (per device: count, temperature min/avg/max,
 * humidity average, battery min and last, first and last timestamp), rendered as JSON and
 * as a plain-text e-mail. Built inside the request by jobs_inline (01-05) and by
 * apibench-worker (06-async).
 *
 * The report JSON (docs/API.md, "Reports and jobs"):
 *   {"kind": "device"|"site", "target_id": N, "hours": H,
 *    "window": {"from": ISO, "to": ISO},
 *    "devices": [{"id", "name", "site_id", "readings",
 *                 "temperature": {"min", "avg", "max"}, "humidity_avg",
 *                 "battery": {"min", "last"}, "first_at", "last_at"}],
 *    "totals": {"devices": N, "readings": N}}
 * Aggregates of a device without readings in the window are null. */
#ifndef APIBENCH_REPORT_H
#define APIBENCH_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queries.h"
#include "request.h"

struct dbconn;

/* Where report_build reads whole hours from. */
enum report_source {
    REPORT_FROM_READINGS, /* aggregate the raw readings (every build) */
    REPORT_FROM_ROLLUP    /* whole hours from readings_hourly up to its watermark, the edges
                             from readings (sql/async.sql; see rollup.h) */
};

/* The text parameters of a new reports row: user, kind, target, hours, e-mail. */
struct report_row {
    char uid[16], target[16], hours[16];
    const char *params[5];
};

/* Admits a report request, for both ways of doing it (inline and queued): checks the
 * e-mail address, gets the request's connection, checks that who may see the target and
 * fills row. Returns the connection, or NULL with err (400, 404, 503). */
struct dbconn *report_admit(struct reqctx *ctx, const struct caller *who,
                            const struct report_request *req, struct report_row *row,
                            struct apierr *err);

/* Checks that who may see req's target. Returns 0, or -1 with err: 404 when the device or
 * site does not exist or is not in who's sites, 503 when the database failed. */
int report_check_access(struct dbconn *c, const struct caller *who,
                        const struct report_request *req, struct apierr *err);

/* Builds the report for req over (now - hours, now]. Returns 0 with *out a new reference
 * (the caller decrefs), or -1 with err: 404 when the target does not exist (any more), 400
 * for a kind other than "device"/"site", 503 when the database failed. */
int report_build(struct dbconn *c, const struct report_request *req, enum report_source src,
                 json_t **out, struct apierr *err);

/* The e-mail subject for report (borrowed) into buf (always NUL-terminated). */
void report_mail_subject(const json_t *report, char *buf, size_t len);

/* The plain-text e-mail body for report (borrowed) of job job_id. Returns a malloc'd string
 * the caller frees. */
char *report_mail_text(const json_t *report, int64_t job_id);

#endif
