/* results.c - results JSON and .hgrm files, written atomically (see results.h). */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apibench/strbuf.h"

json_t *results_hist_summary(const struct hist *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer(hist_count(h)));
    json_object_set_new(o, "mean_ms", json_real(hist_mean(h) / 1000.0));
    json_object_set_new(o, "stdev_ms", json_real(hist_stdev(h) / 1000.0));
    json_object_set_new(o, "min_ms", json_real((double)hist_min(h) / 1000.0));
    static const struct {
        const char *key;
        double pct;
    } pcts[] = {{"p50_ms", 50.0},
                {"p90_ms", 90.0},
                {"p99_ms", 99.0},
                {"p999_ms", 99.9},
                {"p9999_ms", 99.99}};
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++)
        json_object_set_new(o, pcts[i].key,
                            json_real((double)hist_value_at_percentile(h, pcts[i].pct) / 1000.0));
    json_object_set_new(o, "max_ms", json_real((double)hist_max(h) / 1000.0));
    return o;
}

static json_t *errors_json(const struct loadgen_stats *st)
{
    json_t *o = json_object();
    for (int e = 0; e < LOADGEN_NERRORS; e++)
        json_object_set_new(o, loadgen_error_name((enum loadgen_error)e),
                            json_integer(st->errors[e]));
    json_object_set_new(o, "total", json_integer(loadgen_stats_errors(st)));
    return o;
}

/* Counters of a discarded phase (warm-up, cool-down): enough to see it ran sanely. */
static json_t *phase_json(const struct loadgen_stats *st, double seconds)
{
    return json_pack("{s:f, s:I, s:I, s:I, s:I, s:o, s:f}", "seconds", seconds, "due",
                     (json_int_t)st->due, "sent", (json_int_t)st->sent, "completed",
                     (json_int_t)st->responses, "errors", (json_int_t)loadgen_stats_errors(st),
                     "aborted", json_integer(st->aborted), "latency_p99_ms",
                     (double)hist_value_at_percentile(st->latency, 99.0) / 1000.0);
}

static json_t *slo_json(const struct results_run *r, const struct loadgen_stats *st,
                        double achieved, double error_rate, bool *passed)
{
    *passed = true;
    if (!r->slo_spec)
        return json_null();
    struct slo_observed obs = {0};
    static const double pct[] = {50.0, 90.0, 99.0, 99.9, 99.99};
    for (int m = SLO_P50; m <= SLO_P9999; m++)
        obs.latency_ms[m] = (double)hist_value_at_percentile(st->latency, pct[m]) / 1000.0;
    obs.latency_ms[SLO_MEAN] = hist_mean(st->latency) / 1000.0;
    obs.latency_ms[SLO_MAX] = (double)hist_max(st->latency) / 1000.0;
    obs.error_fraction = error_rate;
    obs.achieved_rate = achieved;
    obs.intended_rate = r->intended_rate;
    json_t *checks = json_array(), *breaches = json_array();
    for (int i = 0; i < r->slo->n; i++) {
        const struct slo_term *t = &r->slo->terms[i];
        double observed;
        bool ok = slo_term_passes(t, &obs, &observed);
        json_array_append_new(checks,
                              json_pack("{s:s, s:f, s:f, s:s, s:b}", "term", t->text, "threshold",
                                        t->threshold, "observed", isnan(observed) ? -1.0 : observed,
                                        "unit", slo_term_unit(t), "passed", ok));
        if (!ok) {
            *passed = false;
            json_array_append_new(breaches, json_string(t->text));
        }
    }
    return json_pack("{s:s, s:b, s:o, s:o}", "spec", r->slo_spec, "passed", *passed, "checks",
                     checks, "breaches", breaches);
}

json_t *results_timeline_json(const struct loadgen_result *lg)
{
    json_t *a = json_array();
    /* an interrupted run's timeline ends where the measured phase stopped */
    double seconds = ceil(lg->phase_s[LOADGEN_MEASURED] - 1e-6);
    int n = seconds < (double)lg->timeline_len ? (int)seconds : lg->timeline_len;
    for (int i = 0; i < n; i++) {
        const struct loadgen_second *sec = &lg->timeline[i];
        json_t *mean =
            sec->latency_count > 0
                ? json_real((double)sec->latency_sum_us / (double)sec->latency_count / 1000.0)
                : json_null();
        json_t *max =
            sec->latency_count > 0 ? json_real((double)sec->latency_max_us / 1000.0) : json_null();
        json_array_append_new(
            a, json_pack("{s:i, s:I, s:I, s:I, s:o, s:o}", "t_s", i, "due", (json_int_t)sec->due,
                         "responses", (json_int_t)sec->responses, "errors", (json_int_t)sec->errors,
                         "mean_ms", mean, "max_ms", max));
    }
    return a;
}

json_t *results_run_json(const struct results_run *r, bool *slo_passed)
{
    const struct loadgen_stats *st = &r->lg->phases[LOADGEN_MEASURED];
    double measured_s = r->lg->phase_s[LOADGEN_MEASURED];
    double achieved = measured_s > 0 ? (double)st->responses_in_window / measured_s : 0.0;
    int64_t errors = loadgen_stats_errors(st);
    /* errors over every request due in the phase (a response or an error each) */
    int64_t attempts = st->due > 0 ? st->due : st->responses + errors;
    double error_rate = attempts > 0 ? (double)errors / (double)attempts : 0.0;
    json_t *doc = json_object();
    json_object_set_new(doc, "format", json_string("apibench-run/1"));
    json_object_set_new(doc, "partial", json_boolean(r->lg->interrupted || r->lg->cut_short));
    json_object_set_new(doc, "interrupted", json_boolean(r->lg->interrupted));
    json_object_set_new(doc, "label", r->label ? json_string(r->label) : json_null());
    json_object_set_new(doc, "config", json_incref(r->config));
    json_object_set_new(doc, "environment", envinfo_json(r->env));
    json_object_set_new(doc, "started_at", json_string(r->started_at));
    json_object_set_new(doc, "finished_at", json_string(r->finished_at));
    json_object_set_new(doc, "measured_s", json_real(measured_s));
    json_object_set_new(doc, "intended_rate",
                        r->closed ? json_null() : json_real(r->intended_rate));
    json_object_set_new(doc, "achieved_rate", json_real(achieved));
    json_object_set_new(doc, "due", json_integer(st->due));
    json_object_set_new(doc, "sent", json_integer(st->sent));
    json_object_set_new(doc, "completed", json_integer(st->responses));
    json_object_set_new(doc, "completed_in_window", json_integer(st->responses_in_window));
    json_object_set_new(doc, "aborted", json_integer(st->aborted));
    json_object_set_new(doc, "bytes_received",
                        json_integer(st->header_bytes + st->body_bytes_wire));
    /* decoded sizes are measured only with --decode: null (not measured) otherwise */
    bool decoded = r->lg->decoded;
    json_object_set_new(
        doc, "bytes",
        json_pack("{s:I, s:I, s:o, s:I, s:f, s:o}", "headers", (json_int_t)st->header_bytes,
                  "body_wire", (json_int_t)st->body_bytes_wire, "body_decoded",
                  decoded ? json_integer(st->body_bytes_decoded) : json_null(), "gzip_responses",
                  (json_int_t)st->gzip_responses, "mean_body_wire",
                  st->responses ? (double)st->body_bytes_wire / (double)st->responses : 0.0,
                  "mean_body_decoded",
                  !decoded ? json_null()
                           : json_real(st->responses
                                           ? (double)st->body_bytes_decoded / (double)st->responses
                                           : 0.0)));
    json_object_set_new(
        doc, "status",
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "1xx", (json_int_t)st->status_class[1], "2xx",
                  (json_int_t)st->status_class[2], "3xx", (json_int_t)st->status_class[3], "4xx",
                  (json_int_t)st->status_class[4], "5xx", (json_int_t)st->status_class[5]));
    json_object_set_new(doc, "errors", errors_json(st));
    json_object_set_new(doc, "error_rate", json_real(error_rate));
    json_object_set_new(doc, "latency", results_hist_summary(st->latency));
    json_object_set_new(doc, "latency_answered", results_hist_summary(st->latency_answered));
    json_object_set_new(doc, "service_time", results_hist_summary(st->service));
    json_object_set_new(doc, "send_lag", results_hist_summary(st->lag));
    json_object_set_new(doc, "transfer_time", results_hist_summary(st->transfer));
    json_t *routes = json_object();
    for (int i = 0; i < MIX_NROUTES; i++) {
        const struct loadgen_route_stats *rs = &st->routes[i];
        if (rs->sent == 0 && rs->errors == 0)
            continue;
        json_object_set_new(routes, mix_route_name((enum mix_route)i),
                            json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "sent",
                                      (json_int_t)rs->sent, "count", (json_int_t)rs->responses,
                                      "errors", (json_int_t)rs->errors, "bytes_received",
                                      (json_int_t)rs->body_bytes_wire, "body_bytes_decoded",
                                      decoded ? json_integer(rs->body_bytes_decoded) : json_null(),
                                      "latency", results_hist_summary(rs->latency), "service_time",
                                      results_hist_summary(rs->service), "transfer_time",
                                      results_hist_summary(rs->transfer)));
    }
    json_object_set_new(doc, "routes", routes);
    json_object_set_new(doc, "timeline", results_timeline_json(r->lg));
    json_object_set_new(
        doc, "phases",
        json_pack("{s:o, s:o}", "warmup",
                  phase_json(&r->lg->phases[LOADGEN_WARMUP], r->lg->phase_s[LOADGEN_WARMUP]),
                  "cooldown",
                  phase_json(&r->lg->phases[LOADGEN_COOLDOWN], r->lg->phase_s[LOADGEN_COOLDOWN])));
    json_object_set_new(doc, "slo", slo_json(r, st, achieved, error_rate, slo_passed));
    return doc;
}

int results_prepare_dir(const char *base, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(base, '/');
    if (!slash)
        return 0;
    size_t len = (size_t)(slash - base);
    if (len == 0)
        return 0;
    if (len >= sizeof dir) {
        snprintf(err, errlen, "cannot create output folder: path too long");
        return -1;
    }
    memcpy(dir, base, len);
    dir[len] = '\0';
    for (char *p = dir + 1;; p++) {
        bool end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create output folder %s: %s", dir, strerror(errno));
                return -1;
            }
            if (end)
                break;
            *p = '/';
        }
    }
    struct stat sb;
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode) || access(dir, W_OK) < 0) {
        snprintf(err, errlen, "cannot write to output folder %s", dir);
        return -1;
    }
    return 0;
}

int results_write_atomic(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "cannot write %s: path too long", path);
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto fail_unlink;
        }
        off += (size_t)n;
    }
    if (fchmod(fd, 0644) < 0 || fsync(fd) < 0)
        goto fail_unlink;
    if (close(fd) < 0) {
        fd = -1;
        goto fail_unlink;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto fail_unlink;
    return 0;

fail_unlink:
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

/* Renders a file into memory with render(out, arg), then writes it to path atomically. */
static int write_rendered(const char *path, int (*render)(FILE *, const void *), const void *arg,
                          char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        snprintf(err, errlen, "cannot write %s: out of memory", path);
        return -1;
    }
    render(mem, arg);
    fclose(mem);
    int rc = results_write_atomic(path, text, len, err, errlen);
    free(text);
    return rc;
}

static int render_hgrm(FILE *out, const void *h)
{
    return hist_write_hgrm(h, out, 1000.0);
}

int results_write_hgrm(const char *path, const struct hist *h, char *err, size_t errlen)
{
    return write_rendered(path, render_hgrm, h, err, errlen);
}

struct hlog_args {
    double start_epoch_s, window_s;
    const struct hlog_series *series;
    const struct hlog_tagged *tagged;
    int ntagged;
};

static int render_hlog(FILE *out, const void *arg)
{
    const struct hlog_args *a = arg;
    return hlog_write(out, a->start_epoch_s, a->series, a->tagged, a->ntagged, a->window_s);
}

int results_write_hlog(const char *path, double start_epoch_s, const struct hlog_series *series,
                       const struct hlog_tagged *tagged, int ntagged, double window_s, char *err,
                       size_t errlen)
{
    struct hlog_args a = {start_epoch_s, window_s, series, tagged, ntagged};
    return write_rendered(path, render_hlog, &a, err, errlen);
}

/* The run's four interval logs: untagged seconds plus Tag=total, and each route's total
 * (Tag=route.NAME) in the latency and service logs. */
static int write_hlogs(const char *base, const struct loadgen_result *lg, char *err,
                       size_t errlen)
{
    const struct loadgen_stats *st = &lg->phases[LOADGEN_MEASURED];
    static const char *const suffix[LOADGEN_NSERIES] = {"latency", "latency_answered",
                                                        "service", "send_lag"};
    const struct hist *total[LOADGEN_NSERIES] = {st->latency, st->latency_answered, st->service,
                                                 st->lag};
    char tags[MIX_NROUTES][HLOG_TAG_MAX];
    for (int k = 0; k < LOADGEN_NSERIES; k++) {
        struct hlog_tagged tagged[1 + MIX_NROUTES] = {{"total", total[k]}};
        int n = 1;
        for (int i = 0; i < MIX_NROUTES && (k == LOADGEN_SERIES_LATENCY || k == LOADGEN_SERIES_SERVICE);
             i++) {
            if (st->routes[i].sent == 0)
                continue;
            snprintf(tags[i], sizeof tags[i], "route.%s", mix_route_name((enum mix_route)i));
            tagged[n++] = (struct hlog_tagged){tags[i], k == LOADGEN_SERIES_LATENCY
                                                            ? st->routes[i].latency
                                                            : st->routes[i].service};
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s.%s.hlog", base, suffix[k]);
        if (results_write_hlog(path, lg->measured_start_epoch_s, &lg->intervals[k], tagged, n,
                               lg->phase_s[LOADGEN_MEASURED], err, errlen) < 0)
            return -1;
    }
    return 0;
}

int results_write_all(const char *base, const struct results_run *r, json_t *doc, char *err,
                      size_t errlen)
{
    const struct loadgen_stats *st = &r->lg->phases[LOADGEN_MEASURED];
    char path[PATH_MAX];
    struct {
        const char *suffix;
        const struct hist *h;
    } files[] = {{"latency", st->latency},
                 {"latency_answered", st->latency_answered},
                 {"service", st->service},
                 {"send_lag", st->lag}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s.%s.hgrm", base, files[i].suffix);
        if (results_write_hgrm(path, files[i].h, err, errlen) < 0)
            return -1;
    }
    for (int i = 0; i < MIX_NROUTES; i++) {
        if (st->routes[i].sent == 0)
            continue;
        snprintf(path, sizeof path, "%s.%s.latency.hgrm", base, mix_route_name((enum mix_route)i));
        if (results_write_hgrm(path, st->routes[i].latency, err, errlen) < 0)
            return -1;
    }
    if (write_hlogs(base, r->lg, err, errlen) < 0)
        return -1;
    return results_write_json(base, doc, err, errlen);
}

int results_write_json(const char *base, json_t *doc, char *err, size_t errlen)
{
    char path[PATH_MAX];
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (!text) {
        snprintf(err, errlen, "cannot encode the results JSON");
        return -1;
    }
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    snprintf(path, sizeof path, "%s.json", base);
    int rc = results_write_atomic(path, text, len, err, errlen);
    free(text);
    return rc;
}

void results_utc_now(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
