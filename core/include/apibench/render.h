/* render.h - turning PostgreSQL text values into the API's JSON, the same way in every
 * query set, so that their bodies are byte-identical.
 *
 * Numbers keep PostgreSQL's value: a double travels as the shortest decimal that reads
 * back to the same double (what PostgreSQL itself prints), an integer as itself.
 * Timestamps are converted from PostgreSQL's UTC text ("2026-11-27 10:00:00.123+00") to
 * ISO 8601 ("2026-11-27T10:00:00.123Z"). Object keys keep their insertion order. */
#ifndef APIBENCH_RENDER_H
#define APIBENCH_RENDER_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* Converts a PostgreSQL timestamptz text in UTC into ISO 8601 in out. Returns 0, or -1
 * when pg is not in that form (a session not in UTC, say) or out is too small. */
int render_timestamp(const char *pg, char *out, size_t outlen);

/* New JSON values from column col of row of r: NULL becomes json null. The timestamp
 * form falls back to the raw text if it cannot be converted (never happens with
 * TimeZone=UTC). */
json_t *render_ts(const PGresult *r, int row, int col);
json_t *render_real(const PGresult *r, int row, int col);
json_t *render_int(const PGresult *r, int row, int col);
json_t *render_text(const PGresult *r, int row, int col);

/* Serialises v compactly (no spaces), keys in insertion order, doubles in shortest
 * round-trip form. Returns a malloc'd NUL-terminated string (caller frees) and its length
 * in *len. Never fails (allocation aborts). */
char *render_json(const json_t *v, size_t *len);

/* The API's error body {"error":{"status":N,"message":"..."}}, malloc'd. */
char *render_error(int status, const char *message, size_t *len);

#endif
