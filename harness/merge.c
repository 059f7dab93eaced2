/* merge.c - several runs combined into one exact run result (see merge.h). */
#include "merge.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/strbuf.h"
#include "hlog.h"
#include "loadgen.h"
#include "results.h"

#define MERGE_MAX_ROUTES 32

/* The four logs of a run, in enum loadgen_series order, and the JSON summary each
 * stands for. */
static const char *const log_names[LOADGEN_NSERIES] = {"latency", "latency_answered", "service",
                                                       "send_lag"};
static const char *const summary_keys[LOADGEN_NSERIES] = {"latency", "latency_answered",
                                                          "service_time", "send_lag"};

struct route_hists {
    char name[HLOG_TAG_MAX];
    struct hist *latency, *service;
};

struct merge {
    int n;
    char **bases;      /* DIR/NAME of each run */
    json_t **docs;     /* each run's JSON */
    double *starts;    /* each run's measured start (Unix s), from its logs */
    struct hist *total[LOADGEN_NSERIES];
    struct hlog_series intervals[LOADGEN_NSERIES];
    struct route_hists routes[MERGE_MAX_ROUTES];
    int nroutes;
    int reading; /* the series being read (for on_tagged) */
};

/* ---------------------------------------------------------------- reading the runs */

static struct route_hists *route_of(struct merge *m, const char *name)
{
    for (int i = 0; i < m->nroutes; i++)
        if (strcmp(m->routes[i].name, name) == 0)
            return &m->routes[i];
    if (m->nroutes == MERGE_MAX_ROUTES)
        return NULL;
    struct route_hists *r = &m->routes[m->nroutes++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->latency = hist_new();
    r->service = hist_new();
    return r;
}

/* A tagged whole-window histogram of the log being read: the total or a route's. */
static void on_tagged(const char *tag, const struct hist *h, void *ctx)
{
    struct merge *m = ctx;
    if (strcmp(tag, "total") == 0) {
        hist_merge(m->total[m->reading], h);
    } else if (strncmp(tag, "route.", 6) == 0) {
        struct route_hists *r = route_of(m, tag + 6);
        if (r && m->reading == LOADGEN_SERIES_LATENCY)
            hist_merge(r->latency, h);
        else if (r && m->reading == LOADGEN_SERIES_SERVICE)
            hist_merge(r->service, h);
    }
}

/* Reads run i's JSON and logs; the logs' intervals are kept in files[i * NSERIES + k]. */
static int read_run(struct merge *m, int i, struct hlog_file *files, char *err, size_t errlen)
{
    char path[PATH_MAX];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s.json", m->bases[i]);
    m->docs[i] = json_load_file(path, 0, &jerr);
    if (!m->docs[i] || !json_is_object(json_object_get(m->docs[i], "latency"))) {
        snprintf(err, errlen, "cannot read run %s: %s", path,
                 m->docs[i] ? "not an apibench run result" : jerr.text);
        return -1;
    }
    for (int k = 0; k < LOADGEN_NSERIES; k++) {
        snprintf(path, sizeof path, "%s.%s.hlog", m->bases[i], log_names[k]);
        m->reading = k;
        char why[512];
        if (hlog_read(path, &files[i * LOADGEN_NSERIES + k], on_tagged, m, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
    }
    m->starts[i] = files[i * LOADGEN_NSERIES].start_epoch_s;
    return 0;
}

/* ---------------------------------------------------------------- JSON helpers */

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* Sums integer field key of object `obj` (NULL: top level) over the runs; when any run
 * has it null, the sum is null (not measured everywhere). */
static json_t *sum_field(const struct merge *m, const char *obj, const char *key)
{
    json_int_t sum = 0;
    for (int i = 0; i < m->n; i++) {
        const json_t *o = obj ? json_object_get(m->docs[i], obj) : m->docs[i];
        const json_t *v = json_object_get(o, key);
        if (!json_is_number(v))
            return json_null();
        sum += (json_int_t)llround(json_number_value(v));
    }
    return json_integer(sum);
}

/* The summary of h (percentiles from the added histograms) with count, min, max, mean
 * and standard deviation combined exactly from the runs' own summaries parts[0..n). */
static json_t *combined_summary(const struct hist *h, json_t *const *parts, int n)
{
    json_t *s = results_hist_summary(h);
    double count = 0, sum = 0, min = INFINITY, max = -INFINITY;
    for (int i = 0; i < n; i++) {
        double c = num(parts[i], "count");
        if (c <= 0)
            continue;
        count += c;
        sum += c * num(parts[i], "mean_ms");
        min = fmin(min, num(parts[i], "min_ms"));
        max = fmax(max, num(parts[i], "max_ms"));
    }
    if (count <= 0)
        return s;
    double mean = sum / count, sq = 0;
    for (int i = 0; i < n; i++) {
        double c = num(parts[i], "count"), sd = num(parts[i], "stdev_ms"),
               d = num(parts[i], "mean_ms") - mean;
        if (c > 0)
            sq += c * (sd * sd + d * d);
    }
    json_object_set_new(s, "mean_ms", json_real(mean));
    json_object_set_new(s, "stdev_ms", json_real(sqrt(sq / count)));
    json_object_set_new(s, "min_ms", json_real(min));
    json_object_set_new(s, "max_ms", json_real(max));
    /* as in one run: a percentile is at most the exact maximum */
    const char *key;
    json_t *v;
    json_object_foreach(s, key, v)
    {
        if (key[0] == 'p' && json_number_value(v) > max)
            json_object_set_new(s, key, json_real(max));
    }
    return s;
}

/* ---------------------------------------------------------------- the merged document */

static void merge_routes(struct merge *m, json_t *doc)
{
    json_t *routes = json_object();
    for (int r = 0; r < m->nroutes; r++) {
        const char *name = m->routes[r].name;
        json_t *lat[256], *svc[256];
        int n = 0;
        json_int_t sent = 0, count = 0, errors = 0, bytes = 0, decoded = 0;
        bool decoded_known = true;
        for (int i = 0; i < m->n && n < 256; i++) {
            json_t *ro = json_object_get(json_object_get(m->docs[i], "routes"), name);
            if (!ro)
                continue;
            sent += json_integer_value(json_object_get(ro, "sent"));
            count += json_integer_value(json_object_get(ro, "count"));
            errors += json_integer_value(json_object_get(ro, "errors"));
            bytes += json_integer_value(json_object_get(ro, "bytes_received"));
            json_t *d = json_object_get(ro, "body_bytes_decoded");
            decoded_known = decoded_known && json_is_integer(d);
            decoded += json_integer_value(d);
            lat[n] = json_object_get(ro, "latency");
            svc[n++] = json_object_get(ro, "service_time");
        }
        json_object_set_new(
            routes, name,
            json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "sent", sent, "count", count,
                      "errors", errors, "bytes_received", bytes, "body_bytes_decoded",
                      decoded_known ? json_integer(decoded) : json_null(), "latency",
                      combined_summary(m->routes[r].latency, lat, n), "service_time",
                      combined_summary(m->routes[r].service, svc, n)));
    }
    json_object_set_new(doc, "routes", routes);
}

/* Each run's timeline shifted by its start against the earliest; means weighted by the
 * responses of each second. */
static void merge_timeline(struct merge *m, json_t *doc, double base)
{
    json_t *out = json_array();
    for (int i = 0; i < m->n; i++) {
        json_t *tl = json_object_get(m->docs[i], "timeline");
        int shift = (int)floor(m->starts[i] - base + 1e-6);
        size_t j;
        json_t *sec;
        json_array_foreach(tl, j, sec)
        {
            size_t t = (size_t)shift + j;
            while (json_array_size(out) <= t)
                json_array_append_new(
                    out, json_pack("{s:I, s:I, s:I, s:I, s:n, s:n}", "t_s",
                                   (json_int_t)json_array_size(out), "due", (json_int_t)0,
                                   "responses", (json_int_t)0, "errors", (json_int_t)0, "mean_ms",
                                   "max_ms"));
            json_t *d = json_array_get(out, t);
            json_int_t r0 = json_integer_value(json_object_get(d, "responses"));
            json_int_t r1 = json_integer_value(json_object_get(sec, "responses"));
            static const char *const counters[] = {"due", "responses", "errors"};
            for (int c = 0; c < 3; c++)
                json_object_set_new(d, counters[c],
                                    json_integer(json_integer_value(json_object_get(d, counters[c])) +
                                                 json_integer_value(json_object_get(sec, counters[c]))));
            json_t *mean = json_object_get(sec, "mean_ms"), *max = json_object_get(sec, "max_ms");
            if (json_is_number(mean)) {
                json_t *old = json_object_get(d, "mean_ms");
                double w0 = json_is_number(old) ? (double)(r0 > 0 ? r0 : 1) : 0.0,
                       w1 = (double)(r1 > 0 ? r1 : 1);
                double v = (w0 * json_number_value(old) + w1 * json_number_value(mean)) / (w0 + w1);
                json_object_set_new(d, "mean_ms", json_real(v));
            }
            if (json_is_number(max) &&
                !(json_number_value(json_object_get(d, "max_ms")) >= json_number_value(max)))
                json_object_set_new(d, "max_ms", json_real(json_number_value(max)));
        }
    }
    json_object_set_new(doc, "timeline", out);
}

/* Warm-up and cool-down: counters summed; their p99 (no histograms are kept for the
 * discarded phases) is the highest of the runs'. */
static void merge_phases(struct merge *m, json_t *doc)
{
    json_t *phases = json_object_get(doc, "phases");
    const char *name;
    json_t *ph;
    json_object_foreach(phases, name, ph)
    {
        static const char *const counters[] = {"due", "sent", "completed", "errors", "aborted"};
        for (int c = 0; c < 5; c++) {
            json_int_t sum = 0;
            for (int i = 0; i < m->n; i++)
                sum += json_integer_value(json_object_get(
                    json_object_get(json_object_get(m->docs[i], "phases"), name), counters[c]));
            json_object_set_new(ph, counters[c], json_integer(sum));
        }
        double p99 = 0;
        for (int i = 0; i < m->n; i++)
            p99 = fmax(p99, num(json_object_get(json_object_get(m->docs[i], "phases"), name),
                                "latency_p99_ms"));
        json_object_set_new(ph, "latency_p99_ms", json_real(p99));
    }
}

/* Warns when the runs' segments are not one complete set. */
static void check_segments(const struct merge *m, FILE *warn)
{
    int count = -1, seen[64] = {0};
    bool mixed = false;
    for (int i = 0; i < m->n; i++) {
        json_t *seg = json_object_get(m->docs[i], "segment");
        int c = json_is_object(seg) ? (int)json_integer_value(json_object_get(seg, "count")) : 1;
        int idx = json_is_object(seg) ? (int)json_integer_value(json_object_get(seg, "index")) : 0;
        if (count >= 0 && c != count)
            mixed = true;
        count = c;
        if (idx >= 0 && idx < 64)
            seen[idx]++;
    }
    if (!warn)
        return;
    if (mixed) {
        fprintf(warn, "apibench merge: warning: the runs are segments of different splits\n");
        return;
    }
    if (count == 1 && m->n > 1) {
        fprintf(warn, "apibench merge: note: the runs are not segments of one load "
                      "(no --segment): merged as independent generators\n");
        return;
    }
    for (int i = 0; i < count && i < 64; i++)
        if (seen[i] != 1)
            fprintf(warn, "apibench merge: warning: segment %d/%d given %d times\n", i, count,
                    seen[i]);
}

static json_t *merged_doc(struct merge *m, double base, double window_s)
{
    json_t *doc = json_deep_copy(m->docs[0]);
    static const char *const totals[] = {"due", "sent", "completed", "completed_in_window",
                                         "aborted", "bytes_received"};
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++)
        json_object_set_new(doc, totals[i], sum_field(m, NULL, totals[i]));
    static const char *const objects[] = {"bytes", "status", "errors"};
    for (size_t o = 0; o < sizeof objects / sizeof objects[0]; o++) {
        json_t *obj = json_object_get(doc, objects[o]);
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v)
        {
            if (json_is_integer(v) || json_is_null(v))
                json_object_set_new(obj, key, sum_field(m, objects[o], key));
        }
    }
    json_t *bytes = json_object_get(doc, "bytes");
    double completed = num(doc, "completed");
    json_object_set_new(bytes, "mean_body_wire",
                        json_real(completed > 0 ? num(bytes, "body_wire") / completed : 0.0));
    if (json_is_integer(json_object_get(bytes, "body_decoded")))
        json_object_set_new(bytes, "mean_body_decoded",
                            json_real(completed > 0 ? num(bytes, "body_decoded") / completed : 0.0));
    double errors = num(json_object_get(doc, "errors"), "total"), due = num(doc, "due");
    double attempts = due > 0 ? due : completed + errors;
    json_object_set_new(doc, "error_rate", json_real(attempts > 0 ? errors / attempts : 0.0));
    json_object_set_new(doc, "measured_s", json_real(window_s));
    json_object_set_new(doc, "achieved_rate",
                        json_real(window_s > 0 ? num(doc, "completed_in_window") / window_s : 0.0));
    if (json_is_number(json_object_get(doc, "intended_rate"))) {
        double rate = 0;
        for (int i = 0; i < m->n; i++)
            rate += num(m->docs[i], "intended_rate");
        json_object_set_new(doc, "intended_rate", json_real(rate));
    }
    for (int k = 0; k < LOADGEN_NSERIES; k++) {
        json_t *parts[256];
        int n = 0;
        for (int i = 0; i < m->n && n < 256; i++)
            parts[n++] = json_object_get(m->docs[i], summary_keys[k]);
        json_object_set_new(doc, summary_keys[k], combined_summary(m->total[k], parts, n));
    }
    merge_routes(m, doc);
    merge_timeline(m, doc, base);
    merge_phases(m, doc);
    bool partial = false, interrupted = false;
    json_t *sources = json_array(), *clocks = json_array(), *segments = json_array();
    for (int i = 0; i < m->n; i++) {
        partial = partial || json_is_true(json_object_get(m->docs[i], "partial"));
        interrupted = interrupted || json_is_true(json_object_get(m->docs[i], "interrupted"));
        const char *a = json_string_value(json_object_get(m->docs[i], "started_at"));
        const char *b = json_string_value(json_object_get(m->docs[i], "finished_at"));
        if (a && strcmp(a, json_string_value(json_object_get(doc, "started_at"))) < 0)
            json_object_set_new(doc, "started_at", json_string(a));
        if (b && strcmp(b, json_string_value(json_object_get(doc, "finished_at"))) > 0)
            json_object_set_new(doc, "finished_at", json_string(b));
        json_array_append_new(sources, json_string(m->bases[i]));
        json_t *clock = json_object_get(m->docs[i], "clock");
        json_array_append_new(clocks, clock ? json_incref(clock) : json_null());
        json_t *seg = json_object_get(m->docs[i], "segment");
        json_array_append_new(segments, seg ? json_incref(seg) : json_null());
    }
    json_object_set_new(doc, "partial", json_boolean(partial));
    json_object_set_new(doc, "interrupted", json_boolean(interrupted));
    json_object_set_new(doc, "segment", json_null());
    json_object_del(doc, "clock");
    json_object_set_new(json_object_get(doc, "config"), "segment", json_null());
    /* an SLO is judged on a run; `apibench capacity --check` can judge the merged one */
    json_object_set_new(doc, "slo", json_null());
    json_object_set_new(doc, "merged",
                        json_pack("{s:i, s:o, s:o, s:o, s:f, s:s}", "runs", m->n, "sources",
                                  sources, "segments", segments, "clocks", clocks, "window_s",
                                  window_s, "method",
                                  "histograms added exactly from the runs' .hlog files"));
    return doc;
}

/* ---------------------------------------------------------------- writing */

static int write_merged(struct merge *m, const char *out, json_t *doc, double base,
                        double window_s, char *err, size_t errlen)
{
    char path[PATH_MAX];
    static const char *const hgrm_names[LOADGEN_NSERIES] = {"latency", "latency_answered",
                                                            "service", "send_lag"};
    if (results_prepare_dir(out, err, errlen) < 0)
        return -1;
    for (int k = 0; k < LOADGEN_NSERIES; k++) {
        snprintf(path, sizeof path, "%s.%s.hgrm", out, hgrm_names[k]);
        if (results_write_hgrm(path, m->total[k], err, errlen) < 0)
            return -1;
    }
    for (int r = 0; r < m->nroutes; r++) {
        snprintf(path, sizeof path, "%s.%s.latency.hgrm", out, m->routes[r].name);
        if (results_write_hgrm(path, m->routes[r].latency, err, errlen) < 0)
            return -1;
    }
    char tags[MERGE_MAX_ROUTES][HLOG_TAG_MAX + 8];
    for (int k = 0; k < LOADGEN_NSERIES; k++) {
        struct hlog_tagged tagged[1 + MERGE_MAX_ROUTES] = {{"total", m->total[k]}};
        int n = 1;
        for (int r = 0; r < m->nroutes &&
                        (k == LOADGEN_SERIES_LATENCY || k == LOADGEN_SERIES_SERVICE);
             r++) {
            snprintf(tags[r], sizeof tags[r], "route.%s", m->routes[r].name);
            tagged[n++] = (struct hlog_tagged){
                tags[r], k == LOADGEN_SERIES_LATENCY ? m->routes[r].latency : m->routes[r].service};
        }
        snprintf(path, sizeof path, "%s.%s.hlog", out, log_names[k]);
        if (results_write_hlog(path, base, &m->intervals[k], tagged, n, window_s, err, errlen) < 0)
            return -1;
    }
    return results_write_json(out, doc, err, errlen);
}

int merge_runs(const char *out, char *const *runs, int nruns, FILE *warn, char *err,
               size_t errlen)
{
    int rc = -1;
    struct merge m;
    memset(&m, 0, sizeof m);
    m.n = nruns;
    m.bases = xcalloc((size_t)nruns, sizeof *m.bases);
    m.docs = xcalloc((size_t)nruns, sizeof *m.docs);
    m.starts = xcalloc((size_t)nruns, sizeof *m.starts);
    struct hlog_file *files = xcalloc((size_t)nruns * LOADGEN_NSERIES, sizeof *files);
    json_t *doc = NULL;
    for (int k = 0; k < LOADGEN_NSERIES; k++) {
        m.total[k] = hist_new();
        hlog_series_init(&m.intervals[k], 0);
    }
    for (int i = 0; i < nruns; i++) {
        m.bases[i] = xstrdup(runs[i]);
        size_t len = strlen(m.bases[i]);
        if (len > 5 && strcmp(m.bases[i] + len - 5, ".json") == 0)
            m.bases[i][len - 5] = '\0';
        if (read_run(&m, i, files, err, errlen) < 0)
            goto cleanup;
    }
    /* the union of the measured windows, on the earliest start's clock */
    double base = m.starts[0], end = -INFINITY;
    for (int i = 0; i < nruns; i++)
        base = fmin(base, m.starts[i]);
    for (int i = 0; i < nruns; i++) {
        end = fmax(end, m.starts[i] + num(m.docs[i], "measured_s"));
        for (int k = 0; k < LOADGEN_NSERIES; k++) {
            const struct hlog_series *s = &files[i * LOADGEN_NSERIES + k].intervals;
            for (int c = 0; c < s->nchunks; c++)
                hlog_series_add_chunk(&m.intervals[k],
                                      (int)floor(m.starts[i] - base + s->chunks[c].second + 1e-6),
                                      s->chunks[c].data, s->chunks[c].len);
        }
    }
    double window_s = end - base;
    check_segments(&m, warn);
    doc = merged_doc(&m, base, window_s);
    rc = write_merged(&m, out, doc, base, window_s, err, errlen);

cleanup:
    json_decref(doc);
    for (int i = 0; i < nruns; i++) {
        free(m.bases[i]);
        json_decref(m.docs[i]);
    }
    for (int i = 0; i < nruns * LOADGEN_NSERIES; i++)
        hlog_file_free(&files[i]);
    free(files);
    for (int k = 0; k < LOADGEN_NSERIES; k++) {
        hist_free(m.total[k]);
        hlog_series_free(&m.intervals[k]);
    }
    for (int r = 0; r < m.nroutes; r++) {
        hist_free(m.routes[r].latency);
        hist_free(m.routes[r].service);
    }
    free(m.bases);
    free(m.docs);
    free(m.starts);
    return rc;
}
