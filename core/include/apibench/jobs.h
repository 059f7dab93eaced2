/* jobs.h - how POST /api/reports gets its work done.
 *
 * jobs_inline (01-05) builds the report and e-mails it inside the request, so a slow mail
 * server holds an HTTP worker thread for the whole time. jobs_queue (06) records the job,
 * adds it to a Redis Stream and returns 202; apibench-worker does the rest. */
#ifndef APIBENCH_JOBS_H
#define APIBENCH_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "queries.h"
#include "request.h"

struct config;
struct strbuf;
struct jobs;

struct job_reply {
    int status;          /* 200 (inline, done) or 202 (queued) */
    json_t *body;        /* new reference */
    char location[128];  /* "/api/jobs/ID" or "" */
};

struct jobs_ops {
    const char *name;
    /* The SQL file (from the checkout's root) that creates this strategy's tables, and
     * whether apibench-worker must run beside the server; NULL and false for inline. */
    const char *schema_file;
    bool needs_worker;
    struct jobs *(*open)(const struct config *cfg, char *err, size_t errlen);
    /* Handles a validated report request from who. Returns 0 with reply filled, or -1
     * with err (503 when the database or the queue is unavailable). */
    int (*submit)(struct jobs *j, struct reqctx *ctx, const struct caller *who,
                  const struct report_request *req, struct job_reply *reply, struct apierr *err);
    /* Appends this strategy's Prometheus lines (queue depth, job counters) to out. */
    void (*render_metrics)(struct jobs *j, struct strbuf *out);
    void (*close)(struct jobs *j);
};

extern const struct jobs_ops jobs_inline;
extern const struct jobs_ops jobs_queue;

#endif
