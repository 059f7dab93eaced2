/* indexes.c - refuse to serve a query set without the indexes it was written for: a
 * missing index does not fail, it turns 30 ms into 3 s, which a benchmark would record as
 * the build's result. */
#include "apibench/indexes.h"

#include <stdio.h>
#include <string.h>

#include "apibench/db.h"
#include "apibench/strbuf.h"

static const struct {
    const char *index, *file;
} sources[] = {
    {"devices_status_id_idx", "sql/indexes_article.sql"},
    {"readings_device_id_timestamp_idx", "sql/indexes_article.sql"},
    {"readings_timestamp_idx", "sql/index_headline.sql"},
};

static const struct stmt existing_indexes = {
    .id = 32,
    .name = "existing_indexes",
    .sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
           "AND indexname = ANY($1::text[])",
    .nparams = 1};

const char *indexes_source_file(const char *name)
{
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (strcmp(sources[i].index, name) == 0)
            return sources[i].file;
    return NULL;
}

int indexes_check(struct dbconn *c, const char *const *required, char *err, size_t errlen)
{
    if (!required || !required[0])
        return 0;
    struct strbuf names = {0};
    for (size_t i = 0; required[i]; i++)
        strbuf_appendf(&names, "%s%s", i ? "," : "{", required[i]);
    strbuf_append(&names, "}", 1);
    const char *params[] = {names.data};
    PGresult *r = db_query(c, &existing_indexes, params);
    strbuf_free(&names);
    if (!db_ok(r)) {
        snprintf(err, errlen, "cannot check indexes: %s",
                 r ? PQresultErrorMessage(r) : "connection lost");
        err[strcspn(err, "\n")] = '\0';
        PQclear(r);
        return -2;
    }
    int rc = 0;
    for (size_t i = 0; required[i] && rc == 0; i++) {
        bool found = false;
        for (int row = 0; row < PQntuples(r) && !found; row++)
            found = strcmp(PQgetvalue(r, row, 0), required[i]) == 0;
        if (!found) {
            const char *file = indexes_source_file(required[i]);
            snprintf(err, errlen,
                     "missing index %s: this build's queries need it; create it with "
                     "psql -f %s",
                     required[i], file ? file : "(unknown file)");
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
}
