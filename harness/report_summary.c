/* report_summary.c - summary.json from a reproduction's raw files. Every figure is a delta
 * between the snapshot taken just before the measured load and the one just after it, so
 * verify, warm-up and the capacity searches do not count. */
#include "report_summary.h"
#include "report_network.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apibench/strbuf.h"
#include "capacity.h"
#include "hist.h"
#include "report_instances.h"
#include "report_ablation.h"
#include "report_md.h"
#include "report_prom.h"

const char *report_kv(const char *text, const char *key)
{
    static char value[1024];
    size_t klen = strlen(key);
    const char *line = text;

    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            size_t vlen = len - klen - 1;
            if (vlen >= sizeof value)
                vlen = sizeof value - 1;
            memcpy(value, line + klen + 1, vlen);
            value[vlen] = '\0';
            return value;
        }
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double report_percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    /* the histograms' rule (hist_percentile_rank), so that one definition holds everywhere */
    return v[hist_percentile_rank(p, (int64_t)n) - 1];
}

/* ---- small helpers over files of one build folder */

static char *slurp_in(const char *dir, const char *name)
{
    char path[4096];
    if (!REPORT_FMT_FITS(path, "%s/%s", dir, name))
        return NULL;
    return strbuf_read_file(path, NULL);
}

static json_t *load_json_in(const char *dir, const char *name)
{
    char path[4096];
    if (!REPORT_FMT_FITS(path, "%s/%s", dir, name))
        return NULL;
    return json_load_file(path, 0, NULL);
}

/* A number or JSON null when x is not finite (a figure that could not be measured). */
static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

double report_kv_num(const char *text, const char *key)
{
    const char *v = text ? report_kv(text, key) : NULL;
    char *end;
    double x;

    if (v == NULL || *v == '\0')
        return NAN;
    x = strtod(v, &end);
    return end == v ? NAN : x;
}

/* after - before of a key of the snapshots, NAN when either lacks it. */
static double kv_delta(const char *before, const char *after, const char *key)
{
    return report_kv_num(after, key) - report_kv_num(before, key);
}

static double prom_delta(const char *before, const char *after, const char *name,
                         const char *labels)
{
    double b, a;
    if (before == NULL || after == NULL || report_prom_sum(after, name, labels, &a) == 0)
        return NAN;
    report_prom_sum(before, name, labels, &b);
    return a - b;
}

static double ratio(double num_, double den)
{
    return (isfinite(num_) && isfinite(den) && den > 0) ? num_ / den : NAN;
}

static double jnum(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* ---- the figures of one build */

/* Requests the server answered on its API routes between the snapshots (not /metrics or
 * /healthz, which the reproduction itself calls). */
static double server_requests(const char *before, const char *after)
{
    static const char *const own[] = {"metrics", "healthz", NULL};
    double b, a;

    if (before == NULL || after == NULL ||
        report_prom_sum_except(after, "http_requests_total", "route", own, &a) == 0)
        return NAN;
    report_prom_sum_except(before, "http_requests_total", "route", own, &b);
    return a - b;
}

static json_t *latency_block(const json_t *lat)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "mean", num(jnum(lat, "mean_ms")), "p50",
                     num(jnum(lat, "p50_ms")), "p90", num(jnum(lat, "p90_ms")), "p99",
                     num(jnum(lat, "p99_ms")), "max", num(jnum(lat, "max_ms")));
}

static json_t *errors_block(const json_t *run)
{
    json_t *e = json_object_get(run, "errors");
    json_t *out = json_pack("{s:o,s:o}", "rate", num(jnum(run, "error_rate")), "total",
                            num(jnum(e, "total")));
    const char *key;
    json_t *v;

    /* every kind the load generator reports (connect, timeout, http_4xx, http_5xx, other,
     * backlog, unsent, ...), as it names them */
    json_object_foreach(e, key, v) if (strcmp(key, "total") != 0)
        json_object_set_new(out, key, num(json_is_number(v) ? json_number_value(v) : NAN));
    static const char *const always[] = {"connect",  "timeout", "http_4xx",
                                         "http_5xx", "other",   NULL};
    for (const char *const *k = always; *k; k++)
        if (json_object_get(out, *k) == NULL)
            json_object_set_new(out, *k, json_null());
    return out;
}

static json_t *cache_block(const char *mb, const char *ma)
{
    double l1h = prom_delta(mb, ma, "apibench_cache_lookups_total", "level=\"l1\",result=\"hit\"");
    double l1m = prom_delta(mb, ma, "apibench_cache_lookups_total", "level=\"l1\",result=\"miss\"");
    double l2h = prom_delta(mb, ma, "apibench_cache_lookups_total", "level=\"l2\",result=\"hit\"");
    double l2m = prom_delta(mb, ma, "apibench_cache_lookups_total", "level=\"l2\",result=\"miss\"");
    double l2e =
        prom_delta(mb, ma, "apibench_cache_lookups_total", "level=\"l2\",result=\"error\"");
    double lookups;

    if (mb == NULL || ma == NULL)
        return json_pack("{s:n,s:n,s:n,s:n,s:n}", "l1", "l2", "overall", "lookups", "l2_errors");
    /* A build without a cache exports no lookups: its hit rate is 0, as in the article. */
    if (!isfinite(l1h) && !isfinite(l1m)) {
        l1h = l1m = l2h = l2m = 0;
    }
    if (!isfinite(l2e))
        l2e = 0;
    lookups = l1h + l1m;
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "l1", num(lookups > 0 ? l1h / lookups : 0), "l2",
                     num(l2h + l2m + l2e > 0 ? l2h / (l2h + l2m + l2e) : 0), "overall",
                     num(lookups > 0 ? (l1h + l2h) / lookups : 0), "lookups", num(lookups),
                     "l2_errors", num(l2e));
}

/* CPU time of a tick counter over the window, as a percentage of the whole machine
 * (all cores): 100% means every core busy for the whole window. */
static double cpu_pct(const char *sb, const char *sa, const char *key, double cores)
{
    double ticks = kv_delta(sb, sa, key);
    double hz = report_kv_num(sa, "clk_tck");
    double wall = kv_delta(sb, sa, "wall_ns") / 1e9;
    return ratio(ticks / hz, wall * cores) * 100.0;
}

/* The server's CPU: its own process_cpu_seconds_total (getrusage, microseconds, summed
 * over the instances' scrapes) when exported, else the /proc ticks (10 ms steps). */
static double server_cpu_pct(const char *mb, const char *ma, const char *sb, const char *sa,
                             double cores)
{
    double cpu_s = prom_delta(mb, ma, "process_cpu_seconds_total", NULL);
    double wall = kv_delta(sb, sa, "wall_ns") / 1e9;

    if (isfinite(cpu_s))
        return ratio(cpu_s, wall * cores) * 100.0;
    return cpu_pct(sb, sa, "server_ticks", cores);
}

/* CPU seconds of a tick counter over the window, NAN when not measured. */
static double cpu_seconds(const char *sb, const char *sa, const char *key)
{
    return ratio(kv_delta(sb, sa, key), report_kv_num(sa, "clk_tck"));
}

/* The server's CPU seconds over the window: its own process_cpu_seconds_total when
 * exported, else its /proc ticks. */
static double server_cpu_seconds(const char *mb, const char *ma, const char *sb, const char *sa)
{
    double cpu_s = prom_delta(mb, ma, "process_cpu_seconds_total", NULL);
    return isfinite(cpu_s) ? cpu_s : cpu_seconds(sb, sa, "server_ticks");
}

/* CPU of the window as % of the machine, and CPU-microseconds per request (requests: the
 * API requests served in the window). */
static json_t *cpu_block(const char *mb, const char *ma, const char *sb, const char *sa,
                         double requests)
{
    double cores = report_kv_num(sa, "cores");
    double busy = kv_delta(sb, sa, "machine_busy_ticks");
    double total = kv_delta(sb, sa, "machine_total_ticks");
    double server = server_cpu_pct(mb, ma, sb, sa, cores);
    double pg = cpu_pct(sb, sa, "pg_ticks", cores), worker = cpu_pct(sb, sa, "worker_ticks", cores);
    double server_s = server_cpu_seconds(mb, ma, sb, sa), pg_s = cpu_seconds(sb, sa, "pg_ticks");
    double worker_s = cpu_seconds(sb, sa, "worker_ticks");

    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "server_pct", num(server),
        "server_and_postgres_pct", num(server + pg + (isfinite(worker) ? worker : 0)),
        "postgres_pct", num(pg), "worker_pct", num(worker), "machine_pct",
        num(ratio(busy, total) * 100.0), "cores", num(cores), "window_s",
        num(kv_delta(sb, sa, "wall_ns") / 1e9), "server_us_per_request",
        num(ratio(server_s * 1e6, requests)), "postgres_us_per_request",
        num(ratio(pg_s * 1e6, requests)), "total_us_per_request",
        num(ratio((server_s + pg_s + (isfinite(worker_s) ? worker_s : 0)) * 1e6, requests)));
}

/* Averages the Server-Timing durations (ms) of the sampled responses in timing.txt, one
 * header value a line: `db;dur=1.2, cache;dur=0.1, render;dur=0.3, encode;dur=0.02`. */
static json_t *timing_block(const char *text)
{
    static const char *const parts[] = {"db", "cache", "render", "encode"};
    double sum[4] = {0};
    int samples = 0;
    const char *line = text;
    json_t *out;

    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[1024];
        bool any = false;
        if (len < sizeof buf) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            for (int i = 0; i < 4; i++) {
                char pat[32];
                const char *at;
                snprintf(pat, sizeof pat, "%s;dur=", parts[i]);
                for (at = strstr(buf, pat); at; at = strstr(at + 1, pat)) {
                    /* a whole metric name: at the start or after ", " */
                    if (at == buf || at[-1] == ' ' || at[-1] == ',') {
                        sum[i] += strtod(at + strlen(pat), NULL);
                        any = true;
                        break;
                    }
                }
            }
        }
        samples += any;
        line = nl ? nl + 1 : NULL;
    }
    out = json_pack("{s:i}", "samples", samples);
    for (int i = 0; i < 4; i++)
        json_object_set_new(out, parts[i], samples ? json_real(sum[i] / samples) : json_null());
    return out;
}

/* Job latency (acceptance to e-mail sent) from jobs.txt: one latency in ms a line. */
/* The status of a build from its status file's first line, "WORD: reason" or "ok" (docs/
 * RESULTS.md): "ok", "failed", "dead" (it died while measured) or "interrupted" (the run
 * was); "not-run" without a file. Any other word counts as "failed", the line its reason. */
static void build_status(json_t *b, char *line)
{
    static const char *const words[] = {"failed", "dead", "interrupted", NULL};
    const char *word = "failed", *reason, *colon;
    char *nl;

    if (line == NULL) {
        json_object_set_new(b, "status", json_string("not-run"));
        return;
    }
    nl = strchr(line, '\n');
    if (nl)
        *nl = '\0';
    if (strncmp(line, "ok", 2) == 0) {
        json_object_set_new(b, "status", json_string("ok"));
        return;
    }
    colon = strchr(line, ':');
    reason = colon ? colon + 1 + (colon[1] == ' ') : line;
    for (const char *const *w = words; colon && *w; w++)
        if ((size_t)(colon - line) == strlen(*w) && strncmp(line, *w, strlen(*w)) == 0)
            word = *w;
    json_object_set_new(b, "status", json_string(word));
    json_object_set_new(b, "reason", json_string(reason));
}

/* The lines of TEXT as a new JSON array of strings (empty when TEXT is NULL). */
static json_t *lines_array(const char *text)
{
    json_t *out = json_array();
    const char *p = text;

    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        json_t *line = json_stringn(p, len);
        json_array_append_new(out, line ? line : json_string("(a line that is not UTF-8)"));
        p = nl ? nl + 1 : p + len;
    }
    return out;
}

static json_t *jobs_block(const char *text)
{
    size_t n = 0, cap = 64;
    double *v;
    const char *p = text;
    json_t *out;

    if (text == NULL)
        return json_null();
    v = malloc(cap * sizeof *v);
    if (v == NULL)
        return json_null();
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p) {
            p++;
            continue;
        }
        if (n == cap) {
            double *grown = realloc(v, cap * 2 * sizeof *v);
            if (grown == NULL)
                break;
            v = grown;
            cap *= 2;
        }
        v[n++] = x;
        p = end;
    }
    out = json_pack("{s:I,s:o,s:o,s:o}", "count", (json_int_t)n, "latency_p50_ms",
                    num(report_percentile(v, n, 50)), "latency_p99_ms",
                    num(report_percentile(v, n, 99)), "latency_max_ms",
                    num(report_percentile(v, n, 100)));
    free(v);
    return out;
}

static int cmp_step(const void *a, const void *b)
{
    double x = jnum(*(json_t *const *)a, "offered"), y = jnum(*(json_t *const *)b, "offered");
    return (x > y) - (x < y);
}

bool report_step_holds(const json_t *run, double slo_ms)
{
    /* the one home of the decision is capacity_run_holds (capacity.c) */
    struct capacity_criteria c = capacity_criteria_default();
    c.slo_p99_ms = slo_ms;
    return capacity_run_holds(run, &c, NULL, 0);
}

/* The calibration's sweep/ runs: the highest offered rate that held the bound. */
static json_t *sweep_block(const char *bdir, double slo_ms)
{
    char sdir[4096];
    DIR *d;
    struct dirent *e;
    json_t *steps = json_array(), *best = json_null();
    size_t n;
    json_t **sorted;

    d = REPORT_FMT_FITS(sdir, "%s/sweep", bdir) ? opendir(sdir) : NULL;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        json_t *run, *step;
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        run = load_json_in(sdir, e->d_name);
        if (run == NULL)
            continue;
        step = json_pack("{s:o,s:o,s:o,s:o,s:o,s:b}", "offered", num(jnum(run, "intended_rate")),
                         "achieved", num(jnum(run, "achieved_rate")), "p50_ms",
                         num(jnum(json_object_get(run, "latency"), "p50_ms")), "p99_ms",
                         num(jnum(json_object_get(run, "latency"), "p99_ms")), "error_rate",
                         num(jnum(run, "error_rate")), "holds", report_step_holds(run, slo_ms));
        json_array_append_new(steps, step);
        json_decref(run);
    }
    if (d)
        closedir(d);
    n = json_array_size(steps);
    sorted = malloc((n ? n : 1) * sizeof *sorted);
    for (size_t i = 0; sorted && i < n; i++)
        sorted[i] = json_incref(json_array_get(steps, i));
    if (sorted) {
        qsort(sorted, n, sizeof *sorted, cmp_step);
        json_array_clear(steps);
        for (size_t i = 0; i < n; i++) {
            if (json_is_true(json_object_get(sorted[i], "holds")))
                best = sorted[i];
            json_array_append_new(steps, sorted[i]);
        }
        free(sorted);
    }
    /* When the last step still held, the sweep ended before the SLO broke: the capacity
     * is at least that rate. */
    n = json_array_size(steps);
    return json_pack("{s:o,s:b,s:o,s:o}", "rps",
                     json_is_object(best) ? num(jnum(best, "offered")) : json_null(), "at_least",
                     n > 0 && json_is_true(json_object_get(json_array_get(steps, n - 1), "holds")),
                     "slo_p99_ms", num(slo_ms), "steps", steps);
}

/* From an EXPLAIN (ANALYZE) text: its execution time and the first scan node on
 * readings (the node that decides the headline query's cost). */
static json_t *plan_block(const char *run_dir, const char *file)
{
    char path[4096];
    char *text;
    const char *at;
    json_t *out;
    char node[256] = "";

    text = REPORT_FMT_FITS(path, "%s/%s", run_dir, file) ? strbuf_read_file(path, NULL) : NULL;
    if (text == NULL)
        return json_null();
    out = json_pack("{s:s}", "file", file);
    at = strstr(text, "Execution Time:");
    json_object_set_new(out, "execution_ms",
                        at ? json_real(strtod(at + strlen("Execution Time:"), NULL)) : json_null());
    for (at = strstr(text, " on readings"); at; at = strstr(at + 1, " on readings")) {
        const char *start = at, *arrow;
        while (start > text && start[-1] != '\n')
            start--;
        arrow = strstr(start, "-> ");
        if (arrow && arrow < at)
            start = arrow + 3;
        while (*start == ' ')
            start++;
        if (strstr(start, "Scan") && strstr(start, "Scan") < at) {
            size_t len = (size_t)(at - start) + strlen(" on readings");
            if (len >= sizeof node)
                len = sizeof node - 1;
            memcpy(node, start, len);
            node[len] = '\0';
            break;
        }
    }
    json_object_set_new(out, "readings_node", node[0] ? json_string(node) : json_null());
    free(text);
    return out;
}

/* Sequential headline requests (the Server-Timing sample, between the snapshots sample.*):
 * the article's "queries per request" is about this endpoint alone. */
static json_t *headline_block(const char *bdir)
{
    char *mb = slurp_in(bdir, "sample.before.prom"), *ma = slurp_in(bdir, "sample.after.prom");
    char *sb = slurp_in(bdir, "sample.before"), *sa = slurp_in(bdir, "sample.after");
    double req = prom_delta(mb, ma, "http_requests_total", "route=\"latest\"");
    double qs = ratio(prom_delta(mb, ma, "apibench_db_queries_total", NULL), req);
    double qp = ratio(kv_delta(sb, sa, "pgss_calls"), req);
    double gap = fabs(qs - qp) / fmax(fmax(qs, qp), 1e-9);
    json_t *out =
        json_pack("{s:o,s:{s:o,s:o,s:o}}", "requests", num(req), "db_queries_per_request", "server",
                  num(qs), "pg_stat_statements", num(qp), "agree",
                  isfinite(gap) ? json_boolean(gap <= REPORT_QPR_TOLERANCE) : json_null());
    free(mb);
    free(ma);
    free(sb);
    free(sa);
    return out;
}

/* ---- figures over repeats */

/* The median of the finite values among the n of v (the mean of the middle two when their
 * count is even), NAN when there are none. Reorders v. */
static double median_of(double *v, size_t n)
{
    size_t m = 0;

    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) || (isinf(v[i]) && v[i] > 0))
            v[m++] = v[i];
    if (m == 0)
        return NAN;
    qsort(v, m, sizeof *v, cmp_double);
    return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}

/* Merges n values of one shape (one per repeat) into one: numbers by their median (nulls
 * and absent values skipped), objects key by key, arrays element by element, anything
 * else as the first repeat that has it. Returns a new reference. */
static json_t *merge_median(json_t *const *vals, size_t n)
{
    size_t numbers = 0, objects = 0, arrays = 0, len = 0;
    json_t **sub;
    json_t *out;

    for (size_t i = 0; i < n; i++) {
        numbers += json_is_number(vals[i]);
        objects += json_is_object(vals[i]);
        if (json_is_array(vals[i])) {
            arrays++;
            if (json_array_size(vals[i]) > len)
                len = json_array_size(vals[i]);
        }
    }
    if (numbers > 0) {
        double v[64];
        size_t m = 0;
        for (size_t i = 0; i < n && m < 64; i++)
            if (json_is_number(vals[i]))
                v[m++] = json_number_value(vals[i]);
        return num(median_of(v, m));
    }
    if (objects == 0 && arrays == 0) {
        for (size_t i = 0; i < n; i++)
            if (vals[i] && !json_is_null(vals[i]))
                return json_deep_copy(vals[i]);
        return json_null();
    }
    sub = calloc(n, sizeof *sub);
    if (sub == NULL)
        return json_null();
    if (objects > 0) {
        out = json_object();
        for (size_t i = 0; i < n; i++) {
            const char *key;
            json_t *x;
            json_object_foreach(vals[i], key, x)
            {
                if (json_object_get(out, key))
                    continue;
                for (size_t j = 0; j < n; j++)
                    sub[j] = json_object_get(vals[j], key);
                json_object_set_new(out, key, merge_median(sub, n));
            }
        }
    } else {
        out = json_array();
        for (size_t k = 0; k < len; k++) {
            for (size_t j = 0; j < n; j++)
                sub[j] = json_array_get(vals[j], k);
            json_array_append_new(out, merge_median(sub, n));
        }
    }
    free(sub);
    return out;
}

/* The value at a dotted path ("latency_ms.p99") of obj as a number, NAN when absent. */
static double path_num(const json_t *obj, const char *path)
{
    json_t *x = report_path(obj, path);
    return json_is_number(x) ? json_number_value(x) : NAN;
}

/* [min, max] of the figure at path over the n points; null when no point has it. With
 * null_is_unbounded, a point whose figure is null makes the max null (an open bracket). */
static json_t *range_of(json_t *const *points, size_t n, const char *path, bool null_is_unbounded)
{
    double lo = INFINITY, hi = -INFINITY;
    bool unbounded = false;

    for (size_t i = 0; i < n; i++) {
        double x = path_num(points[i], path);
        if (!isfinite(x)) {
            unbounded |= null_is_unbounded;
            continue;
        }
        lo = fmin(lo, x);
        hi = fmax(hi, x);
    }
    if (!isfinite(lo))
        return json_null();
    return json_pack("[o,o]", num(lo), unbounded ? json_null() : num(hi));
}

/* The figures of one measured phase in dir: the run file run_name and the snapshots
 * PREFIXsnap.before/after, PREFIXmetrics.before/after.prom around it. *measured says
 * whether the run file was there. Returns a new reference (nulls when not measured). */
static json_t *load_point(const char *dir, const char *run_name, const char *prefix, double slo_ms,
                          bool *measured)
{
    char name[128];
    char *mb, *ma, *sb, *sa;
    json_t *run = load_json_in(dir, run_name), *p;
    double requests, queries, pgss, opened, rendered, sent, qpr_server, qpr_pg, gap;

    snprintf(name, sizeof name, "%smetrics.before.prom", prefix);
    mb = slurp_in(dir, name);
    snprintf(name, sizeof name, "%smetrics.after.prom", prefix);
    ma = slurp_in(dir, name);
    snprintf(name, sizeof name, "%ssnap.before", prefix);
    sb = slurp_in(dir, name);
    snprintf(name, sizeof name, "%ssnap.after", prefix);
    sa = slurp_in(dir, name);
    *measured = run != NULL;

    requests = server_requests(mb, ma);
    queries = prom_delta(mb, ma, "apibench_db_queries_total", NULL);
    opened = prom_delta(mb, ma, "apibench_db_connections_opened_total", NULL);
    pgss = kv_delta(sb, sa, "pgss_calls");
    rendered = prom_delta(mb, ma, "apibench_response_bytes_total", "stage=\"rendered\"");
    sent = prom_delta(mb, ma, "apibench_response_bytes_total", "stage=\"sent\"");
    qpr_server = ratio(queries, requests);
    qpr_pg = ratio(pgss, requests);
    gap = fabs(qpr_server - qpr_pg) / fmax(fmax(qpr_server, qpr_pg), 1e-9);

    p = json_object();
    json_object_set_new(p, "offered_rps", num(jnum(run, "intended_rate")));
    json_object_set_new(p, "achieved_rps", num(jnum(run, "achieved_rate")));
    json_object_set_new(p, "requests", num(jnum(run, "completed")));
    json_object_set_new(p, "due", num(jnum(run, "due")));
    json_object_set_new(p, "server_requests", num(requests));
    json_object_set_new(p, "measured_s", num(jnum(run, "measured_s")));
    json_object_set_new(p, "partial", json_boolean(json_is_true(json_object_get(run, "partial"))));
    json_object_set_new(p, "held",
                        run ? json_boolean(report_step_holds(run, slo_ms)) : json_null());
    json_object_set_new(p, "latency_ms", latency_block(json_object_get(run, "latency")));
    json_object_set_new(p, "latency_count", num(jnum(json_object_get(run, "latency"), "count")));
    json_object_set_new(p, "latency_answered_ms",
                        json_is_object(json_object_get(run, "latency_answered"))
                            ? latency_block(json_object_get(run, "latency_answered"))
                            : json_null());
    json_object_set_new(p, "send_lag_p99_ms",
                        num(jnum(json_object_get(run, "send_lag"), "p99_ms")));
    json_object_set_new(p, "errors", errors_block(run));
    json_object_set_new(
        p, "db_queries_per_request",
        json_pack("{s:o,s:o,s:o}", "server", num(qpr_server), "pg_stat_statements", num(qpr_pg),
                  "agree",
                  isfinite(gap) ? json_boolean(gap <= REPORT_QPR_TOLERANCE) : json_null()));
    json_object_set_new(p, "connections_opened_per_request", num(ratio(opened, requests)));
    json_object_set_new(p, "cache_hit_rate", cache_block(mb, ma));
    json_object_set_new(
        p, "cache_invalidations",
        json_pack("{s:o,s:o}", "sent",
                  num(prom_delta(mb, ma, "apibench_cache_invalidations_total", NULL)), "received",
                  num(prom_delta(mb, ma, "apibench_cache_invalidations_received_total", NULL))));
    json_object_set_new(
        p, "cpu",
        cpu_block(mb, ma, sb, sa, isfinite(requests) ? requests : jnum(run, "completed")));
    json_object_set_new(p, "bytes_per_response",
                        json_pack("{s:o,s:o,s:o}", "rendered", num(ratio(rendered, requests)),
                                  "sent", num(ratio(sent, requests)), "saved",
                                  num(rendered > 0 ? 1.0 - sent / rendered : NAN)));
    json_object_set_new(p, "timeline",
                        json_is_array(json_object_get(run, "timeline"))
                            ? json_deep_copy(json_object_get(run, "timeline"))
                            : json_null());
    json_object_set_new(p, "environment",
                        json_is_object(json_object_get(run, "environment"))
                            ? json_deep_copy(json_object_get(run, "environment"))
                            : json_null());
    free(mb);
    free(ma);
    free(sb);
    free(sa);
    json_decref(run);
    return p;
}

/* One repeat's capacity: capacity/capacity.json (apibench capacity) when there, else, when
 * the common-rate phase already failed the SLO (no search was run), [0, common rate]
 * limited by the SLO; else unknown (nulls). */
static json_t *capacity_repeat(const char *rdir, const json_t *common, double common_rate)
{
    json_t *c = load_json_in(rdir, "capacity/capacity.json"), *out;
    const char *limited;

    if (c == NULL) {
        if (json_is_false(json_object_get(common, "held")))
            return json_pack("{s:i,s:o,s:s,s:b,s:b,s:[]}", "lower", 0, "upper", num(common_rate),
                             "limited_by", "slo", "confirmed", false, "searched", false, "probes");
        return json_pack("{s:n,s:n,s:n,s:b,s:b,s:[]}", "lower", "upper", "limited_by", "confirmed",
                         false, "searched", false, "probes");
    }
    limited = json_string_value(json_object_get(c, "limited_by"));
    out =
        json_pack("{s:o,s:o,s:o,s:b,s:b,s:b,s:b}", "lower", num(jnum(c, "lower")), "upper",
                  num(jnum(c, "upper")), "limited_by", limited ? json_string(limited) : json_null(),
                  "confirmed", json_is_true(json_object_get(c, "confirmed")), "searched", true,
                  "partial", json_is_true(json_object_get(c, "partial")), "converged",
                  !json_is_false(json_object_get(c, "converged")));
    json_object_set_new(out, "probes",
                        json_is_array(json_object_get(c, "probes"))
                            ? json_deep_copy(json_object_get(c, "probes"))
                            : json_array());
    json_decref(c);
    return out;
}

/* The capacity over repeats: lower and upper are medians (an open upper counts as
 * infinite), ranges min-max, every repeat's probes tagged with its repeat number. */
static json_t *capacity_merge(json_t *const *caps, const int *repeat_no, size_t n)
{
    double lo[64], up[64];
    size_t m = 0;
    bool confirmed = true, searched = false, generator = false, converged = true;
    json_t *probes = json_array(), *known[64], *out;
    double lower, upper;

    for (size_t i = 0; i < n && i < 64; i++) {
        size_t k;
        json_t *pr;
        json_array_foreach(json_object_get(caps[i], "probes"), k, pr)
        {
            json_t *copy = json_deep_copy(pr);
            json_object_set_new(copy, "repeat", json_integer(repeat_no[i]));
            json_array_append_new(probes, copy);
        }
        if (!isfinite(jnum(caps[i], "lower")))
            continue;
        known[m] = caps[i];
        lo[m] = jnum(caps[i], "lower");
        up[m] = isfinite(jnum(caps[i], "upper")) ? jnum(caps[i], "upper") : INFINITY;
        confirmed &= json_is_true(json_object_get(caps[i], "confirmed"));
        searched |= json_is_true(json_object_get(caps[i], "searched"));
        converged &= !json_is_false(json_object_get(caps[i], "converged"));
        generator |=
            json_is_string(json_object_get(caps[i], "limited_by")) &&
            strcmp(json_string_value(json_object_get(caps[i], "limited_by")), "generator") == 0;
        m++;
    }
    lower = median_of(lo, m);
    upper = median_of(up, m);
    out = json_pack(
        "{s:o,s:o,s:o,s:b,s:b,s:b}", "lower", num(lower), "upper", num(upper), "limited_by",
        m == 0 ? json_null() : json_string(!isfinite(upper) && generator ? "generator" : "slo"),
        "confirmed", m > 0 && confirmed, "searched", searched, "converged", converged);
    json_object_set_new(out, "range",
                        json_pack("{s:o,s:o}", "lower", range_of(known, m, "lower", false), "upper",
                                  range_of(known, m, "upper", true)));
    json_object_set_new(out, "probes", probes);
    return out;
}

/* The median over the measured points (all of them when none was measured). */
static json_t *merge_points(json_t *const *points, const bool *measured, size_t n)
{
    json_t *use[64];
    size_t m = 0;

    for (size_t i = 0; i < n && i < 64; i++)
        if (measured[i])
            use[m++] = points[i];
    if (m == 0)
        return n > 0 ? json_deep_copy(points[0]) : json_null();
    return merge_median(use, m);
}

/* Copies obj[key] (or null) into out[as]. */
static void copy_key(json_t *out, const char *as, const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(out, as, v ? json_deep_copy(v) : json_null());
}

/* article_load: the figures at the article's 167 req/s over the repeats. */
static json_t *article_block(json_t *const *points, const bool *measured, size_t n)
{
    json_t *merged = merge_points(points, measured, n), *out = json_object();
    json_t *use[64];
    size_t m = 0, held = 0;
    static const char *const keys[] = {"offered_rps",
                                       "achieved_rps",
                                       "requests",
                                       "due",
                                       "server_requests",
                                       "measured_s",
                                       "latency_ms",
                                       "latency_count",
                                       "latency_answered_ms",
                                       "send_lag_p99_ms",
                                       "errors",
                                       "cpu",
                                       "cache_hit_rate",
                                       "db_queries_per_request",
                                       "bytes_per_response",
                                       "timeline",
                                       NULL};

    for (size_t i = 0; i < n && i < 64; i++)
        if (measured[i]) {
            use[m++] = points[i];
            held += json_is_true(json_object_get(points[i], "held"));
        }
    for (const char *const *k = keys; *k; k++)
        copy_key(out, *k, merged, *k);
    json_object_set_new(out, "measured", json_boolean(m > 0));
    json_object_set_new(out, "held", m > 0 ? json_boolean(held == m) : json_null());
    json_object_set_new(out, "held_repeats", json_integer((json_int_t)held));
    json_object_set_new(out, "partial",
                        json_boolean(json_is_true(json_object_get(merged, "partial"))));
    json_object_set_new(out, "range",
                        json_pack("{s:o,s:o,s:o}", "mean_ms",
                                  range_of(use, m, "latency_ms.mean", false), "p99_ms",
                                  range_of(use, m, "latency_ms.p99", false), "achieved_rps",
                                  range_of(use, m, "achieved_rps", false)));
    json_decref(merged);
    return out;
}

/* The repeat folders of a build: repeat-1..repeat-N, or (an older results folder) the
 * build folder itself as repeat 1. Fills dirs/numbers; returns how many. */
static size_t repeat_dirs(const char *bdir, int expected, char (*dirs)[4096], int *numbers,
                          size_t max)
{
    size_t n = 0;
    struct stat st;
    char path[4096];

    for (int k = 1; k <= expected && n < max; k++)
        if (REPORT_FMT_FITS(dirs[n], "%s/repeat-%d", bdir, k) && stat(dirs[n], &st) == 0 &&
            S_ISDIR(st.st_mode))
            numbers[n++] = k;
    if (n == 0 && REPORT_FMT_FITS(path, "%s/load.json", bdir) && stat(path, &st) == 0 &&
        REPORT_FMT_FITS(dirs[0], "%s", bdir)) {
        numbers[0] = 1;
        n = 1;
    }
    return n;
}

#define REPORT_MAX_REPEATS 16

/* A build's name is a folder under builds/ and a JSON string: letters, digits, '.', '_'
 * and '-', not starting with '.' (run.info is read as untrusted input). */
static bool valid_build_name(const char *name)
{
    if (!*name || *name == '.' || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return false;
    return true;
}

static json_t *build_entry(const char *run_dir, const char *name, double slo_ms, int repeats,
                           double common_rate)
{
    static const char *const common_keys[] = {"offered_rps",
                                              "requests",
                                              "server_requests",
                                              "latency_ms",
                                              "latency_count",
                                              "latency_answered_ms",
                                              "errors",
                                              "db_queries_per_request",
                                              "connections_opened_per_request",
                                              "cache_hit_rate",
                                              "cache_invalidations",
                                              "cpu",
                                              "bytes_per_response",
                                              NULL};
    char bdir[4096], rdirs[REPORT_MAX_REPEATS][4096];
    int numbers[REPORT_MAX_REPEATS];
    json_t *common[REPORT_MAX_REPEATS], *article[REPORT_MAX_REPEATS], *caps[REPORT_MAX_REPEATS];
    bool cm[REPORT_MAX_REPEATS], am[REPORT_MAX_REPEATS];
    char *status, *timing, *jobs;
    json_t *b, *merged, *use[REPORT_MAX_REPEATS], *per, *env = NULL;
    size_t n, m = 0;
    bool partial = false;
    char plan_file[300];

    if (!REPORT_FMT_FITS(bdir, "%s/builds/%s", run_dir, name))
        return json_pack("{s:s,s:s,s:s}", "build", name, "status", "failed", "reason",
                         "results folder path too long");
    status = slurp_in(bdir, "status");
    timing = slurp_in(bdir, "timing.txt");
    jobs = slurp_in(bdir, "jobs.txt");

    b = json_pack("{s:s}", "build", name);
    build_status(b, status);
    if (strcmp(json_string_value(json_object_get(b, "status")), "dead") == 0) {
        char *last = slurp_in(bdir, "last_log.txt");
        json_object_set_new(b, "last_log", lines_array(last));
        free(last);
    }
    {
        char *verify = slurp_in(bdir, "verify.status");
        char *nl = verify ? strchr(verify, '\n') : NULL;
        if (nl)
            *nl = '\0';
        json_object_set_new(b, "verify", verify ? json_string(verify) : json_null());
        free(verify);
    }

    n = repeat_dirs(bdir, repeats, rdirs, numbers, REPORT_MAX_REPEATS);
    for (size_t i = 0; i < n; i++) {
        common[i] = load_point(rdirs[i], "load.json", "", slo_ms, &cm[i]);
        article[i] = load_point(rdirs[i], "article.json", "article.", slo_ms, &am[i]);
        caps[i] = capacity_repeat(rdirs[i], common[i], common_rate);
        if (cm[i]) {
            use[m++] = common[i];
            partial |= json_is_true(json_object_get(common[i], "partial"));
            if (env == NULL && json_is_object(json_object_get(common[i], "environment")))
                env = json_object_get(common[i], "environment");
        }
    }
    if (n == 0) { /* not measured: the shape of an empty repeat, all nulls */
        bool unused;
        common[0] = load_point(bdir, "-", "-", slo_ms, &unused);
        article[0] = json_incref(common[0]);
        caps[0] = capacity_repeat(bdir, common[0], NAN);
        cm[0] = am[0] = false;
        numbers[0] = 1;
    }

    /* the common-rate figures, as apibench-summary/1 named them */
    merged = merge_points(common, cm, n ? n : 1);
    for (const char *const *k = common_keys; *k; k++)
        copy_key(b, *k, merged, *k);
    copy_key(b, "throughput_rps", merged, "achieved_rps");
    json_object_set_new(b, "partial", json_boolean(partial));
    json_object_set_new(b, "range",
                        json_pack("{s:o,s:o}", "mean_ms",
                                  range_of(use, m, "latency_ms.mean", false), "p99_ms",
                                  range_of(use, m, "latency_ms.p99", false)));
    json_decref(merged);
    json_object_set_new(b, "headline_sample", headline_block(bdir));
    json_object_set_new(b, "server_timing_ms", timing_block(timing));
    json_object_set_new(b, "jobs", jobs_block(jobs));
    json_object_set_new(b, "article_load", article_block(article, am, n ? n : 1));
    json_object_set_new(b, "capacity", capacity_merge(caps, numbers, n ? n : 1));
    json_object_set_new(b, "repeats", json_integer((json_int_t)n));
    per = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            per,
            json_pack("{s:i,s:{s:o,s:o,s:o},s:{s:o,s:o,s:o,s:o},s:{s:o,s:o}}", "repeat", numbers[i],
                      "common", "mean_ms", num(path_num(common[i], "latency_ms.mean")), "p99_ms",
                      num(path_num(common[i], "latency_ms.p99")), "requests",
                      num(path_num(common[i], "requests")), "article", "mean_ms",
                      num(path_num(article[i], "latency_ms.mean")), "p99_ms",
                      num(path_num(article[i], "latency_ms.p99")), "achieved_rps",
                      num(path_num(article[i], "achieved_rps")), "requests",
                      num(path_num(article[i], "requests")), "capacity", "lower",
                      num(jnum(caps[i], "lower")), "upper", num(jnum(caps[i], "upper"))));
    json_object_set_new(b, "per_repeat", per);
    snprintf(plan_file, sizeof plan_file, "plans/%.250s.txt", name);
    json_object_set_new(b, "plan", plan_block(run_dir, plan_file));
    json_object_set_new(b, "environment", env ? json_deep_copy(env) : json_null());
    {
        char *needs = slurp_in(bdir, "needs.txt"); /* the server's --needs, saved by reproduce */
        json_object_set_new(b, "composition", report_ablation_composition(needs));
        free(needs);
    }

    for (size_t i = 0; i < (n ? n : 1); i++) {
        json_decref(common[i]);
        json_decref(article[i]);
        json_decref(caps[i]);
    }
    free(status);
    free(timing);
    free(jobs);
    return b;
}

/* ---- the load generator's own limits (generator/) */

static json_t *ceiling_block(const char *run_dir, const char *which)
{
    char name[64];
    json_t *c = REPORT_FMT_FITS(name, "generator/ceiling-%s/capacity.json", which)
                    ? load_json_in(run_dir, name)
                    : NULL;
    json_t *out;
    const char *limited;

    if (c == NULL)
        return json_null();
    limited = json_string_value(json_object_get(c, "limited_by"));
    out =
        json_pack("{s:o,s:o,s:o,s:b,s:I}", "lower", num(jnum(c, "lower")), "upper",
                  num(jnum(c, "upper")), "limited_by", limited ? json_string(limited) : json_null(),
                  "confirmed", json_is_true(json_object_get(c, "confirmed")), "probes",
                  (json_int_t)json_array_size(json_object_get(c, "probes")));
    json_decref(c);
    return out;
}

static json_t *floor_block(const char *run_dir, const char *which)
{
    char name[64];
    json_t *run = REPORT_FMT_FITS(name, "generator/floor-%s.json", which)
                      ? load_json_in(run_dir, name)
                      : NULL;
    json_t *lat = json_object_get(run, "latency"), *out;

    if (run == NULL)
        return json_null();
    out = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "rate", num(jnum(run, "intended_rate")),
                    "count", num(jnum(lat, "count")), "mean", num(jnum(lat, "mean_ms")), "p50",
                    num(jnum(lat, "p50_ms")), "p99", num(jnum(lat, "p99_ms")), "max",
                    num(jnum(lat, "max_ms")), "send_lag_p99",
                    num(jnum(json_object_get(run, "send_lag"), "p99_ms")), "error_rate",
                    num(jnum(run, "error_rate")));
    json_decref(run);
    return out;
}

static json_t *generator_block(const char *run_dir)
{
    json_t *identity = ceiling_block(run_dir, "identity"), *gzip = ceiling_block(run_dir, "gzip");
    char *body = slurp_in(run_dir, "generator/body.info");
    json_t *out = json_pack(
        "{s:{s:o,s:o},s:{s:o,s:o},s:{s:o,s:o},s:{s:o,s:o}}", "ceiling_rps", "identity",
        num(jnum(identity, "lower")), "gzip", num(jnum(gzip, "lower")), "ceiling", "identity",
        identity, "gzip", gzip, "floor_ms", "common", floor_block(run_dir, "common"), "article",
        floor_block(run_dir, "article"), "body_bytes", "identity",
        num(report_kv_num(body, "identity_bytes")), "gzip", num(report_kv_num(body, "gzip_bytes")));
    free(body);
    return out;
}

static json_t *placement_block(const char *info)
{
    static const char *const keys[] = {"cpu_placement", "generator_cpus", "server_cpus"};
    static const char *const as[] = {"mode", "generator_cpus", "server_cpus"};
    json_t *out = json_object();

    for (size_t i = 0; i < 3; i++) {
        const char *v = report_kv(info, keys[i]);
        json_object_set_new(out, as[i], v && *v ? json_string(v) : json_null());
    }
    json_object_set_new(out, "cores", num(report_kv_num(info, "cores")));
    return out;
}

static json_t *run_block(const char *info)
{
    static const char *const text_keys[] = {"id",
                                            "started_at",
                                            "finished_at",
                                            "mode",
                                            "mix",
                                            "rate_source",
                                            "target",
                                            "hostname",
                                            "cpu_model",
                                            "kernel",
                                            "os",
                                            "postgres_version",
                                            "redis_version",
                                            "pgbouncer_version",
                                            "git_commit",
                                            "build_type",
                                            "pool",
                                            "cpu_placement",
                                            "generator_cpus",
                                            "server_cpus",
                                            "interrupted",
                                            "network_profile",
                                            "network_rate_by",
                                            "network_rtt",
                                            NULL};
    static const char *const num_keys[] = {"scale",
                                           "seed",
                                           "common_rate",
                                           "warmup_s",
                                           "phase_s",
                                           "slo_p99_ms",
                                           "calibration_p99_ms",
                                           "instances",
                                           "cores",
                                           "memory_bytes",
                                           "total_s",
                                           "repeat",
                                           "article_rate",
                                           "article_s",
                                           "overload_s",
                                           "capacity_tolerance",
                                           "capacity_min_s",
                                           "capacity_min_requests",
                                           "ceiling_lag_ms",
                                           "article_timeout_ms",
                                           "capacity_timeout_ms",
                                           NULL};
    json_t *out = json_object();

    for (const char *const *k = text_keys; *k; k++) {
        const char *v = report_kv(info, *k);
        json_object_set_new(out, *k, v && *v ? json_string(v) : json_null());
    }
    for (const char *const *k = num_keys; *k; k++)
        json_object_set_new(out, *k, num(report_kv_num(info, *k)));
    json_object_set_new(out, "partial", json_boolean(report_kv_num(info, "partial") == 1));
    json_object_set_new(out, "quick", json_boolean(report_kv_num(info, "quick") == 1));
    json_object_set_new(out, "pgbouncer", json_boolean(report_kv_num(info, "pgbouncer") == 1));
    json_object_set_new(out, "ablation", json_boolean(report_kv_num(info, "ablation") == 1));
    return out;
}

/* Calibration steps of the baseline (calibration/sweep/RATE.json), by offered rate. */
static json_t *calibration_block(const char *run_dir, double slo_ms)
{
    char cdir[4096];
    if (!REPORT_FMT_FITS(cdir, "%s/calibration", run_dir))
        return json_null();
    return sweep_block(cdir, slo_ms);
}

json_t *report_summary_build(const char *run_dir, char *err, size_t errlen)
{
    char path[4096];
    char *info;
    const char *builds;
    json_t *out, *list, *plans;
    double slo_ms, cal_ms, common_rate, repeat_value;
    int repeats;

    info = REPORT_FMT_FITS(path, "%s/run.info", run_dir) ? strbuf_read_file(path, NULL) : NULL;
    if (info == NULL) {
        snprintf(err, errlen, "cannot read %s: %s (not a reproduction's results folder?)", path,
                 strerror(errno));
        return NULL;
    }
    slo_ms = report_kv_num(info, "slo_p99_ms");
    if (!isfinite(slo_ms))
        slo_ms = 500;
    out = json_pack("{s:s,s:o}", "format", "apibench-summary/2", "run", run_block(info));
    cal_ms = report_kv_num(info, "calibration_p99_ms");
    json_object_set_new(out, "calibration",
                        calibration_block(run_dir, isfinite(cal_ms) ? cal_ms : 10000));
    json_object_set_new(out, "generator", generator_block(run_dir));
    json_object_set_new(out, "cpu_placement", placement_block(info));
    /* range-checked as a double: converting NAN or 1e300 to int is undefined */
    repeat_value = report_kv_num(info, "repeat");
    repeats = repeat_value >= 1 && repeat_value <= REPORT_MAX_REPEATS ? (int)repeat_value : 1;
    common_rate = report_kv_num(info, "common_rate");
    list = json_array();
    builds = report_kv(info, "builds");
    if (builds) {
        char *copy = strdup(builds), *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
             tok = strtok_r(NULL, ",", &save))
            json_array_append_new(list, valid_build_name(tok)
                                            ? build_entry(run_dir, tok, slo_ms, repeats, common_rate)
                                            : json_pack("{s:s,s:s,s:s}", "build", "?", "status",
                                                        "failed", "reason",
                                                        "bad build name in run.info"));
        free(copy);
    }
    json_object_set_new(out, "builds", list);
    json_object_set_new(out, "scaling", report_instances_block(run_dir, info));
    json_object_set_new(out, "network", report_network_summary(run_dir, info, list));
    /* the ranking of the optimisations, for a run of scripts/reproduce --ablation */
    json_object_set_new(out, "ablation",
                        report_kv_num(info, "ablation") == 1 ? report_ablation_build(list, repeats)
                                                      : json_null());
    plans = json_object();
    json_object_set_new(plans, "naive", plan_block(run_dir, "plans/01-baseline.txt"));
    json_object_set_new(plans, "article_indexes_only",
                        plan_block(run_dir, "plans/headline-article-indexes.txt"));
    json_object_set_new(plans, "with_timestamp_index",
                        plan_block(run_dir, "plans/headline-timestamp-index.txt"));
    json_object_set_new(out, "plans", plans);
    free(info);
    return out;
}
