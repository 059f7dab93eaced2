/* jobs_inline.c - 01-05: POST /api/reports builds the report and sends the e-mail inside
 * the request. The HTTP worker thread waits for the mail server the whole time, which is
 * the cost 06-async removes. The report row is still recorded (running, then done or
 * failed), so GET /api/jobs/{id} works in every build. */
#include "apibench/jobs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apibench/config.h"
#include "apibench/db.h"
#include "apibench/mail.h"
#include "apibench/metrics.h"
#include "apibench/report.h"
#include "apibench/strbuf.h"

#define ISO(x) "to_char(" x ", 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* Statement ids 51..53 (see db.h). */
static const struct stmt st_insert = {
    51, "inline_report_insert",
    "INSERT INTO reports (user_id, kind, target_id, hours, email, status, attempts, "
    "started_at) VALUES ($1, $2, $3, $4, $5, 'running', 1, now()) "
    "RETURNING id, " ISO("created_at"),
    5};
static const struct stmt st_done = {
    52, "inline_report_done",
    "UPDATE reports SET status = 'done', result = $2::jsonb, mails_sent = mails_sent + 1, "
    "mailed_at = now(), finished_at = now(), error = NULL WHERE id = $1 "
    "RETURNING " ISO("finished_at") ", mails_sent",
    2};
static const struct stmt st_failed = {
    53, "inline_report_failed",
    "UPDATE reports SET status = 'failed', error = $2, finished_at = now() WHERE id = $1", 2};

#define MAIL_TIMEOUT_MS 10000L

struct jobs {
    char *smtp_url;
    char *mail_from;
    atomic_ullong failed;
};

static struct jobs *inline_open(const struct config *cfg, char *err, size_t errlen)
{
    if (mail_global_init() != 0) {
        snprintf(err, errlen, "cannot initialise libcurl for e-mail");
        return NULL;
    }
    struct jobs *j = xcalloc(1, sizeof(*j));
    j->smtp_url = xstrdup(cfg->smtp_url ? cfg->smtp_url : "smtp://127.0.0.1:52525");
    j->mail_from = xstrdup(cfg->mail_from && *cfg->mail_from ? cfg->mail_from : MAIL_DEFAULT_FROM);
    return j;
}

/* Records the failure (best effort: the database may be what failed). */
static void mark_failed(struct dbconn *c, const char *id, const char *why)
{
    if (c->broken)
        return;
    const char *params[] = {id, why};
    PQclear(db_query(c, &st_failed, params));
}

static int inline_submit(struct jobs *j, struct reqctx *ctx, const struct caller *who,
                         const struct report_request *req, struct job_reply *reply,
                         struct apierr *err)
{
    int rc = -1;
    PGresult *ins = NULL, *done = NULL;
    json_t *report = NULL;
    char *text = NULL, *result = NULL;

    struct report_row row;
    struct dbconn *c = report_admit(ctx, who, req, &row, err);
    if (!c)
        return -1;
    ins = db_query(c, &st_insert, row.params);
    if (!db_ok(ins) || PQntuples(ins) != 1) {
        if (ins && !c->broken)
            apierr_set(err, 500, "cannot record report: %.*s",
                       (int)strcspn(PQresultErrorMessage(ins), "\n"), PQresultErrorMessage(ins));
        else
            apierr_set(err, 503, "cannot record report: database unavailable");
        goto out;
    }
    const char *id = PQgetvalue(ins, 0, 0);
    long long job_id = atoll(id);

    if (report_build(c, req, REPORT_FROM_READINGS, &report, err) != 0) {
        mark_failed(c, id, err->message);
        goto out;
    }
    char subject[160];
    report_mail_subject(report, subject, sizeof(subject));
    text = report_mail_text(report, job_id);
    struct mail m = {j->mail_from, req->email, subject, text, job_id, NULL};
    char mailerr[300];
    if (mail_send(j->smtp_url, &m, MAIL_TIMEOUT_MS, mailerr, sizeof(mailerr)) != 0) {
        atomic_fetch_add_explicit(&j->failed, 1, memory_order_relaxed);
        mark_failed(c, id, mailerr);
        apierr_set(err, 502, "report %lld failed: %s", job_id, mailerr);
        goto out;
    }
    result = json_dumps(report, JSON_COMPACT | JSON_REAL_PRECISION(15));
    const char *p_done[] = {id, result};
    done = db_query(c, &st_done, p_done);
    if (!db_ok(done) || PQntuples(done) != 1) {
        /* The e-mail went out but the row says 'running': say so rather than pretend. */
        apierr_set(err, 503, "report %lld was e-mailed but cannot be recorded: database "
                             "unavailable", job_id);
        goto out;
    }
    metrics_add(C_REPORTS_INLINE, 1);
    reply->status = 200;
    reply->location[0] = '\0';
    reply->body = json_pack("{s:{s:I,s:s,s:s,s:i,s:i,s:s,s:i,s:i,s:s,s:s},s:O}", "job", "id",
                            (json_int_t)job_id, "status", "done", "kind", req->kind,
                            "target_id", req->target_id, "hours", req->hours, "email",
                            req->email, "attempts", 1, "mails_sent",
                            atoi(PQgetvalue(done, 0, 1)), "created_at", PQgetvalue(ins, 0, 1),
                            "finished_at", PQgetvalue(done, 0, 0), "report", report);
    if (!reply->body) {
        apierr_set(err, 500, "cannot render report reply");
        goto out;
    }
    rc = 0;
out:
    free(result);
    free(text);
    json_decref(report);
    PQclear(done);
    PQclear(ins);
    return rc;
}

static void inline_render_metrics(struct jobs *j, struct strbuf *out)
{
    strbuf_appendf(out,
                   "# HELP apibench_reports_inline_failed_total Inline reports whose e-mail "
                   "could not be sent (answered 502).\n"
                   "# TYPE apibench_reports_inline_failed_total counter\n"
                   "apibench_reports_inline_failed_total %llu\n",
                   (unsigned long long)atomic_load_explicit(&j->failed, memory_order_relaxed));
}

static void inline_close(struct jobs *j)
{
    if (!j)
        return;
    free(j->smtp_url);
    free(j->mail_from);
    free(j);
}

const struct jobs_ops jobs_inline = {
    .name = "inline",
    .open = inline_open,
    .submit = inline_submit,
    .render_metrics = inline_render_metrics,
    .close = inline_close,
};
