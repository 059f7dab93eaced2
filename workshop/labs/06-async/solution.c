/* solution.c - lab 06-async: how apibench-lab-06 gets POST /api/reports done.
 *
 * It starts as 05-gzip's jobs_inline: the report is built and e-mailed inside the
 * request, so the client (and an HTTP worker thread) waits for the mail server. Record
 * the job, hand it to apibench-worker through the Redis Stream it reads (jobstream.h) and
 * answer 202 with Location: /api/jobs/ID; the worker builds and sends it. */
#include "lab.h"

static struct jobs *lab_open(const struct config *cfg, char *err, size_t errlen)
{
    /* TODO: connect to what the queue needs (Redis, cfg->redis_url). */
    return jobs_inline.open(cfg, err, errlen);
}

static int lab_submit(struct jobs *j, struct reqctx *ctx, const struct caller *who,
                      const struct report_request *req, struct job_reply *reply, struct apierr *err)
{
    /* TODO: record the job and queue it; reply 202 with its location. */
    return jobs_inline.submit(j, ctx, who, req, reply, err);
}

static void lab_render_metrics(struct jobs *j, struct strbuf *out)
{
    jobs_inline.render_metrics(j, out);
}

static void lab_close(struct jobs *j)
{
    jobs_inline.close(j);
}

const struct jobs_ops lab_jobs = {
    .name = "lab",
    .open = lab_open,
    .submit = lab_submit,
    .render_metrics = lab_render_metrics,
    .close = lab_close,
};
