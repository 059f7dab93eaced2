/* solution.c - lab 02-indexes: the query set of apibench-lab-02.
 *
 * It starts as 01-baseline's query set: every function below hands its work to
 * queries_naive. Replace them one by one with your own statements (struct stmt and
 * db_query, db.h; the JSON helpers of render.h and qshape.h), and put the indexes your
 * statements need in sql/ beside this file. The bodies must stay byte-identical to
 * 01-baseline's: `apibench lab check 02` compares them. */
#include "lab.h"

/* TODO: the names of the indexes your queries rely on (the server refuses to start when
 * one is missing), e.g. {"my_index", NULL}. NULL: none. */
static const char *const *const lab_required_indexes = NULL;

static int lab_authenticate(struct dbconn *c, const unsigned char key_hash[32], struct caller *out,
                            struct apierr *err)
{
    return queries_naive.authenticate(c, key_hash, out, err);
}

/* TODO: the headline route. Measure it with EXPLAIN (ANALYZE, BUFFERS) first; the check
 * allows at most 2 statements per request. */
static int lab_latest(struct dbconn *c, const struct caller *who, const struct latest_params *p,
                      json_t **out, struct apierr *err)
{
    return queries_naive.latest(c, who, p, out, err);
}

/* TODO: one statement instead of one per row? */
static int lab_device_readings(struct dbconn *c, const struct caller *who, int device_id, int hours,
                               int limit, json_t **out, struct apierr *err)
{
    return queries_naive.device_readings(c, who, device_id, hours, limit, out, err);
}

static int lab_device_detail(struct dbconn *c, const struct caller *who, int device_id,
                             json_t **out, struct apierr *err)
{
    return queries_naive.device_detail(c, who, device_id, out, err);
}

static int lab_ingest(struct dbconn *c, const struct caller *who, int device_id,
                      const struct reading_in *rows, size_t nrows, bool global_lock, int *site_id,
                      json_t **out, struct apierr *err)
{
    return queries_naive.ingest(c, who, device_id, rows, nrows, global_lock, site_id, out, err);
}

const struct queries_ops lab_queries = {
    .name = "lab",
    .required_indexes = lab_required_indexes,
    .authenticate = lab_authenticate,
    .latest = lab_latest,
    .device_readings = lab_device_readings,
    .device_detail = lab_device_detail,
    .ingest = lab_ingest,
};
