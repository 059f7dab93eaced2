/* report_summary.c - summary.json from a reproduction's raw files. Every figure is a delta
 * between the snapshot taken just before the measured load and the one just after it, so
 * verify, warm-up and the sweeps do not count. */
#include "report_summary.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/strbuf.h"
#include "hist.h"
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

static double kv_num(const char *text, const char *key)
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
    return kv_num(after, key) - kv_num(before, key);
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
    json_object_foreach(e, key, v)
        if (strcmp(key, "total") != 0)
            json_object_set_new(out, key, num(json_is_number(v) ? json_number_value(v) : NAN));
    static const char *const always[] = {"connect", "timeout", "http_4xx", "http_5xx", "other",
                                         NULL};
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
    double l2e = prom_delta(mb, ma, "apibench_cache_lookups_total", "level=\"l2\",result=\"error\"");
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
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "l1", num(lookups > 0 ? l1h / lookups : 0),
                     "l2", num(l2h + l2m + l2e > 0 ? l2h / (l2h + l2m + l2e) : 0), "overall",
                     num(lookups > 0 ? (l1h + l2h) / lookups : 0), "lookups", num(lookups),
                     "l2_errors", num(l2e));
}

/* CPU time of a tick counter over the window, as a percentage of the whole machine
 * (all cores): 100% means every core busy for the whole window. */
static double cpu_pct(const char *sb, const char *sa, const char *key, double cores)
{
    double ticks = kv_delta(sb, sa, key);
    double hz = kv_num(sa, "clk_tck");
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

static json_t *cpu_block(const char *mb, const char *ma, const char *sb, const char *sa)
{
    double cores = kv_num(sa, "cores");
    double busy = kv_delta(sb, sa, "machine_busy_ticks");
    double total = kv_delta(sb, sa, "machine_total_ticks");
    double server = server_cpu_pct(mb, ma, sb, sa, cores);
    double pg = cpu_pct(sb, sa, "pg_ticks", cores), worker = cpu_pct(sb, sa, "worker_ticks", cores);

    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "server_pct", num(server),
                     "server_and_postgres_pct",
                     num(server + pg + (isfinite(worker) ? worker : 0)),
                     "postgres_pct", num(pg), "worker_pct", num(worker), "machine_pct",
                     num(ratio(busy, total) * 100.0), "cores", num(cores), "window_s",
                     num(kv_delta(sb, sa, "wall_ns") / 1e9));
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
    double offered = jnum(run, "intended_rate"), measured_s = jnum(run, "measured_s");
    double sent = jnum(run, "sent"), completed = jnum(run, "completed");
    double p99 = jnum(json_object_get(run, "latency"), "p99_ms");
    double errors = jnum(run, "error_rate");

    /* Not achieved_rate >= 95% of offered: it counts completions inside the window, so a
     * 3 s response in a 15 s step reads as 80% even when every request was served. */
    return isfinite(offered) && offered > 0 && sent > 0 && completed >= 0.95 * sent &&
           (!isfinite(measured_s) || sent >= 0.95 * offered * measured_s - 1) && p99 < slo_ms &&
           errors < 0.01 && !json_is_true(json_object_get(run, "partial"));
}

/* Capacity from the sweep/ runs: the highest offered rate that held the SLO. */
static json_t *capacity_block(const char *bdir, double slo_ms)
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
    json_t *out = json_pack(
        "{s:o,s:{s:o,s:o,s:o}}", "requests", num(req), "db_queries_per_request", "server",
        num(qs), "pg_stat_statements", num(qp), "agree",
        isfinite(gap) ? json_boolean(gap <= REPORT_QPR_TOLERANCE) : json_null());
    free(mb);
    free(ma);
    free(sb);
    free(sa);
    return out;
}

static json_t *build_entry(const char *run_dir, const char *name, double slo_ms)
{
    char bdir[4096];
    char *status, *mb, *ma, *sb, *sa, *timing, *jobs;
    json_t *run, *b;
    double requests, harness_requests, queries, pgss, opened, rendered, sent;
    double qpr_server, qpr_pg, gap;
    char plan_file[300];

    if (!REPORT_FMT_FITS(bdir, "%s/builds/%s", run_dir, name))
        return json_pack("{s:s,s:s,s:s}", "build", name, "status", "failed", "reason",
                         "results folder path too long");
    status = slurp_in(bdir, "status");
    run = load_json_in(bdir, "load.json");
    mb = slurp_in(bdir, "metrics.before.prom");
    ma = slurp_in(bdir, "metrics.after.prom");
    sb = slurp_in(bdir, "snap.before");
    sa = slurp_in(bdir, "snap.after");
    timing = slurp_in(bdir, "timing.txt");
    jobs = slurp_in(bdir, "jobs.txt");

    b = json_pack("{s:s}", "build", name);
    if (status == NULL) {
        json_object_set_new(b, "status", json_string("not-run"));
    } else {
        char *nl = strchr(status, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(status, "ok", 2) == 0) {
            json_object_set_new(b, "status", json_string("ok"));
        } else {
            const char *reason = strchr(status, ':');
            json_object_set_new(b, "status", json_string("failed"));
            json_object_set_new(b, "reason", json_string(reason ? reason + 1 + (reason[1] == ' ')
                                                                : status));
        }
    }

    harness_requests = jnum(run, "completed");
    requests = server_requests(mb, ma);
    queries = prom_delta(mb, ma, "apibench_db_queries_total", NULL);
    opened = prom_delta(mb, ma, "apibench_db_connections_opened_total", NULL);
    pgss = kv_delta(sb, sa, "pgss_calls");
    rendered = prom_delta(mb, ma, "apibench_response_bytes_total", "stage=\"rendered\"");
    sent = prom_delta(mb, ma, "apibench_response_bytes_total", "stage=\"sent\"");
    qpr_server = ratio(queries, requests);
    qpr_pg = ratio(pgss, requests);
    gap = fabs(qpr_server - qpr_pg) / fmax(fmax(qpr_server, qpr_pg), 1e-9);

    {
        char *verify = slurp_in(bdir, "verify.status");
        char *nl = verify ? strchr(verify, '\n') : NULL;
        if (nl)
            *nl = '\0';
        json_object_set_new(b, "verify", verify ? json_string(verify) : json_null());
        free(verify);
    }
    json_object_set_new(b, "offered_rps", num(jnum(run, "intended_rate")));
    json_object_set_new(b, "throughput_rps", num(jnum(run, "achieved_rate")));
    json_object_set_new(b, "requests", num(harness_requests));
    json_object_set_new(b, "server_requests", num(requests));
    json_object_set_new(b, "partial", json_boolean(json_is_true(json_object_get(run, "partial"))));
    json_object_set_new(b, "latency_ms", latency_block(json_object_get(run, "latency")));
    json_object_set_new(b, "errors", errors_block(run));
    json_object_set_new(
        b, "db_queries_per_request",
        json_pack("{s:o,s:o,s:o}", "server", num(qpr_server), "pg_stat_statements", num(qpr_pg),
                  "agree", isfinite(gap) ? json_boolean(gap <= REPORT_QPR_TOLERANCE)
                                         : json_null()));
    json_object_set_new(b, "connections_opened_per_request", num(ratio(opened, requests)));
    json_object_set_new(b, "headline_sample", headline_block(bdir));
    json_object_set_new(b, "cache_hit_rate", cache_block(mb, ma));
    json_object_set_new(
        b, "cache_invalidations",
        json_pack("{s:o,s:o}", "sent",
                  num(prom_delta(mb, ma, "apibench_cache_invalidations_total", NULL)), "received",
                  num(prom_delta(mb, ma, "apibench_cache_invalidations_received_total", NULL))));
    json_object_set_new(b, "cpu", cpu_block(mb, ma, sb, sa));
    json_object_set_new(b, "bytes_per_response",
                        json_pack("{s:o,s:o,s:o}", "rendered", num(ratio(rendered, requests)),
                                  "sent", num(ratio(sent, requests)), "saved",
                                  num(rendered > 0 ? 1.0 - sent / rendered : NAN)));
    json_object_set_new(b, "server_timing_ms", timing_block(timing));
    json_object_set_new(b, "jobs", jobs_block(jobs));
    json_object_set_new(b, "capacity", capacity_block(bdir, slo_ms));
    snprintf(plan_file, sizeof plan_file, "plans/%.250s.txt", name);
    json_object_set_new(b, "plan", plan_block(run_dir, plan_file));
    if (json_is_object(json_object_get(run, "environment")))
        json_object_set(b, "environment", json_object_get(run, "environment"));
    else
        json_object_set_new(b, "environment", json_null());

    free(status);
    free(mb);
    free(ma);
    free(sb);
    free(sa);
    free(timing);
    free(jobs);
    json_decref(run);
    return b;
}

static json_t *run_block(const char *info)
{
    static const char *const text_keys[] = {
        "id", "started_at", "finished_at", "mode", "mix", "rate_source", "target",
        "hostname", "cpu_model", "kernel", "os", "postgres_version", "redis_version",
        "pgbouncer_version", "git_commit", "build_type", "pool", NULL};
    static const char *const num_keys[] = {"scale", "seed", "common_rate", "warmup_s",
                                           "phase_s", "sweep_step_s", "sweep_factor",
                                           "sweep_max_steps", "sweep_start", "slo_p99_ms",
                                           "instances", "cores", "memory_bytes",
                                           "total_s", NULL};
    json_t *out = json_object();

    for (const char *const *k = text_keys; *k; k++) {
        const char *v = report_kv(info, *k);
        json_object_set_new(out, *k, v && *v ? json_string(v) : json_null());
    }
    for (const char *const *k = num_keys; *k; k++)
        json_object_set_new(out, *k, num(kv_num(info, *k)));
    json_object_set_new(out, "partial", json_boolean(kv_num(info, "partial") == 1));
    json_object_set_new(out, "quick", json_boolean(kv_num(info, "quick") == 1));
    json_object_set_new(out, "pgbouncer", json_boolean(kv_num(info, "pgbouncer") == 1));
    return out;
}

/* Calibration steps of the baseline (calibration/sweep/RATE.json), by offered rate. */
static json_t *calibration_block(const char *run_dir, double slo_ms)
{
    char cdir[4096];
    if (!REPORT_FMT_FITS(cdir, "%s/calibration", run_dir))
        return json_null();
    /* read like a build's sweep, with the calibration bound */
    return capacity_block(cdir, slo_ms);
}

json_t *report_summary_build(const char *run_dir, char *err, size_t errlen)
{
    char path[4096];
    char *info;
    const char *builds;
    json_t *out, *list, *plans;
    double slo_ms, cal_ms;

    info = REPORT_FMT_FITS(path, "%s/run.info", run_dir) ? strbuf_read_file(path, NULL) : NULL;
    if (info == NULL) {
        snprintf(err, errlen, "cannot read %s: %s (not a reproduction's results folder?)", path,
                 strerror(errno));
        return NULL;
    }
    slo_ms = kv_num(info, "slo_p99_ms");
    if (!isfinite(slo_ms))
        slo_ms = 500;
    out = json_pack("{s:s,s:o}", "format", "apibench-summary/1", "run", run_block(info));
    cal_ms = kv_num(info, "calibration_p99_ms");
    json_object_set_new(out, "calibration",
                        calibration_block(run_dir, isfinite(cal_ms) ? cal_ms : 10000));
    list = json_array();
    builds = report_kv(info, "builds");
    if (builds) {
        char *copy = strdup(builds), *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
             tok = strtok_r(NULL, ",", &save))
            json_array_append_new(list, build_entry(run_dir, tok, slo_ms));
        free(copy);
    }
    json_object_set_new(out, "builds", list);
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
