/* params.h - validating what a client sends: query parameters, path ids and JSON bodies.
 * Every failure is a 4xx apierr with a message naming the parameter; nothing here touches
 * the database. */
#ifndef APIBENCH_PARAMS_H
#define APIBENCH_PARAMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "queries.h"
#include "request.h"

#define PARAMS_MAX_ROWS 1000
#define PARAMS_LIMIT_MAX 500
#define PARAMS_LIMIT_DEFAULT 100
#define PARAMS_HOURS_MAX 168
#define PARAMS_HOURS_DEFAULT 24

/* Parses the query parameter name (text, NULL when absent: *out = def) as a decimal
 * integer in [min, max]. Returns 0, or -1 with a 400 in err. */
int params_int(const char *name, const char *text, int min, int max, int def, int *out,
               struct apierr *err);

/* Parses a path segment as a positive id (1..INT32_MAX for devices, ..INT64_MAX for jobs).
 * Returns 0, or -1 with a 400 in err ("invalid <what> id"). */
int params_id(const char *what, const char *segment, int64_t max, int64_t *out,
              struct apierr *err);

/* Parses an ingest body {"readings": [{"timestamp","temperature","humidity","battery",
 * "rssi"}, ...]} with 1..PARAMS_MAX_ROWS rows. Returns 0 with *rows (malloc'd, caller
 * frees) and *nrows, or -1 with a 400 in err. Values are range-checked by the query set. */
int params_ingest(const char *body, size_t len, struct reading_in **rows, size_t *nrows,
                  struct apierr *err);

/* Parses a report body {"kind","id","hours","email"} into out, whose strings point into
 * *root (a new reference the caller decrefs after using out). Returns 0, or -1 with a 400
 * in err (and *root NULL). */
int params_report(const char *body, size_t len, struct report_request *out, json_t **root,
                  struct apierr *err);

#endif
