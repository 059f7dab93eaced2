/* report_md.c - the reproduction's report: the article's table beside the measured one,
 * every build's figures, what each step changed, the load design, plans and plots. */
#include "report_md.h"
#include "report_network.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "hist.h"
#include "report_instances.h"
#include "report_ablation.h"

json_t *report_path(const json_t *obj, const char *path)
{
    char key[128];
    const char *dot;
    json_t *cur = NULL;

    while (obj && path && *path) {
        size_t len;
        dot = strchr(path, '.');
        len = dot ? (size_t)(dot - path) : strlen(path);
        if (len >= sizeof key)
            return NULL;
        memcpy(key, path, len);
        key[len] = '\0';
        cur = json_object_get(obj, key);
        obj = cur;
        path = dot ? dot + 1 : NULL;
    }
    return cur;
}

const json_t *report_find(const json_t *array, const char *key, const char *value)
{
    size_t i;
    json_t *e;
    json_array_foreach(array, i, e)
    {
        const char *v = json_string_value(json_object_get(e, key));
        if (v && strcmp(v, value) == 0)
            return e;
    }
    return NULL;
}

const char *report_fmt(const json_t *x, char kind)
{
    static char ring[32][64];
    static unsigned next;
    char *buf = ring[next++ % 32];
    double v;

    if (!json_is_number(x))
        return "n/a";
    v = json_number_value(x);
    switch (kind) {
    case 'm':
        snprintf(buf, 64, "%.1f", v);
        break;
    case 'q':
    case 'r':
        snprintf(buf, 64, "%.2f", v);
        break;
    case 'p':
        snprintf(buf, 64, "%.1f%%", v * 100.0);
        break;
    case 'c':
        snprintf(buf, 64, "%.2f%%", v);
        break;
    default:
        snprintf(buf, 64, "%.0f", v);
        break;
    }
    return buf;
}

static double val(const json_t *obj, const char *path)
{
    json_t *x = report_path(obj, path);
    return json_is_number(x) ? json_number_value(x) : NAN;
}

/* The change from before to after as the article words it: "97% faster" / "87% fewer". */
static void change_text(double before, double after, const char *down_word, char *buf, size_t len)
{
    double pct;

    if (isfinite(before) && isfinite(after) && before == 0 && after == 0) {
        snprintf(buf, len, "none before or after");
        return;
    }
    if (isfinite(before) && isfinite(after) && before == 0) {
        snprintf(buf, len, "new (from 0)");
        return;
    }
    if (!isfinite(before) || !isfinite(after)) {
        snprintf(buf, len, "n/a");
        return;
    }
    pct = (before - after) / before * 100.0;
    if (after <= before && after > 0)
        snprintf(buf, len, "%.*f%% %s (÷%.*f)",
                 pct >= 99.95  ? 2
                 : pct >= 99.5 ? 1
                               : 0,
                 pct, down_word, before / after >= 10 ? 0 : 2, before / after);
    else if (after <= before)
        snprintf(buf, len, "%.0f%% %s", pct, down_word);
    else
        snprintf(buf, len, "%.0f%% higher", (after - before) / before * 100.0);
}

static const char *rate_text(double x);
static const char *capacity_text(const json_t *b, char *buf, size_t len);

static const json_t *find_build(const json_t *builds, const char *prefix)
{
    size_t i;
    json_t *b;
    json_array_foreach(builds, i, b)
    {
        const char *name = json_string_value(json_object_get(b, "build"));
        if (name && strncmp(name, prefix, strlen(prefix)) == 0)
            return b;
    }
    return NULL;
}

struct row {
    const char *label;
    const char *path;
    char kind;
};

/* The measured table's rows: the label, where the figure is in a build's summary entry,
 * and how it is formatted. tests/integration/test_reproduce_quick.sh reads these rows
 * back and compares them with summary.json, so keep label and path together here. */
static const struct row rows[] = {
    {"Response time mean (ms)", "latency_ms.mean", 'm'},
    {"Response time p50 (ms)", "latency_ms.p50", 'm'},
    {"Response time p90 (ms)", "latency_ms.p90", 'm'},
    {"Response time p99 (ms)", "latency_ms.p99", 'm'},
    {"Response time max (ms)", "latency_ms.max", 'm'},
    {"Requests measured", "requests", 'b'},
    {"Requests behind the latency figures (n)", "latency_count", 'b'},
    {"DB queries/headline request (server counter)",
     "headline_sample.db_queries_per_request.server", 'q'},
    {"DB queries/headline request (pg_stat_statements)",
     "headline_sample.db_queries_per_request.pg_stat_statements", 'q'},
    {"DB queries/request, whole mix (server counter)", "db_queries_per_request.server", 'q'},
    {"DB queries/request, whole mix (pg_stat_statements)",
     "db_queries_per_request.pg_stat_statements", 'q'},
    {"Connections opened/request", "connections_opened_per_request", 'q'},
    {"Cache hit rate L1", "cache_hit_rate.l1", 'p'},
    {"Cache hit rate L2", "cache_hit_rate.l2", 'p'},
    {"Cache hit rate overall", "cache_hit_rate.overall", 'p'},
    {"Cache invalidations sent", "cache_invalidations.sent", 'b'},
    {"Cache invalidations received (other instances)", "cache_invalidations.received", 'b'},
    {"Server CPU (% of machine)", "cpu.server_pct", 'c'},
    {"Postgres CPU (% of machine)", "cpu.postgres_pct", 'c'},
    {"Worker CPU (% of machine)", "cpu.worker_pct", 'c'},
    {"API + Postgres (+ worker) CPU (% of machine)", "cpu.server_and_postgres_pct", 'c'},
    {"Machine CPU busy (all processes)", "cpu.machine_pct", 'c'},
    {"Error rate", "errors.rate", 'p'},
    {"Errors: timeout", "errors.timeout", 'b'},
    {"Errors: connect", "errors.connect", 'b'},
    {"Errors: HTTP 4xx", "errors.http_4xx", 'b'},
    {"Errors: HTTP 5xx", "errors.http_5xx", 'b'},
    {"Errors: other", "errors.other", 'b'},
    {"Errors: generator backlog", "errors.backlog", 'b'},
    {"Offered rate (req/s)", "offered_rps", 'r'},
    {"Throughput (req/s)", "throughput_rps", 'r'},
    {"Bytes/response rendered", "bytes_per_response.rendered", 'b'},
    {"Bytes/response sent", "bytes_per_response.sent", 'b'},
    {"Capacity under the SLO (req/s)", "capacity", 'C'},
    {"Job latency p50 (ms, accepted to mailed)", "jobs.latency_p50_ms", 'm'},
    {"Job latency p99 (ms, accepted to mailed)", "jobs.latency_p99_ms", 'm'},
};

/* What each step changes, in the order of the builds (one line each). */
static const struct {
    const char *prefix, *change;
} steps[] = {
    {"04-pgbouncer", "03-cache's code with its connection per request made to a private "
                     "PgBouncer (session pooling, 20 server connections) instead of Postgres: "
                     "the external alternative to 04-pool, compared with 03-cache"},
    {"01-baseline", "connection per request, the naive query set (SELECT *, OFFSET, COUNT, "
                    "N+1), no cache, identity encoding, reports built and mailed inside the "
                    "request"},
    {"02-indexes", "the article's two composite indexes plus readings(timestamp), and the "
                   "rewritten query set (columns, 1-day filter, keyset cursor, joins)"},
    {"03-cache", "L1 in-process TTL cache and L2 Redis cache, invalidated on ingest"},
    {"04-pool", "a bounded libpq pool (max 20, min 5, idle 30 s, acquire timeout 2 s)"},
    {"05-gzip", "gzip (level 6, threshold 1 KB) when the client accepts it"},
    {"06-async", "reports and e-mail through a Redis Streams queue and a worker process"},
};

/* What build b is: its step's change for a named build, else its composition (an
 * ablation's composed build, scripts/reproduce --ablation). */
static const char *step_change(const json_t *b)
{
    static char text[256];
    const char *build = json_string_value(json_object_get(b, "build"));
    const json_t *c = json_object_get(b, "composition");

    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (build && strcmp(build, steps[i].prefix) == 0)
            return steps[i].change;
    if (json_is_object(c)) {
        static const char *const keys[] = {"connections", "queries", "cache", "encoder", "jobs"};
        size_t len = (size_t)snprintf(text, sizeof text, "composed build:");
        for (size_t i = 0; i < 5 && len < sizeof text; i++)
            len += (size_t)snprintf(text + len, sizeof text - len, " %s=%s", keys[i],
                                    json_string_value(json_object_get(c, keys[i]))
                                        ? json_string_value(json_object_get(c, keys[i]))
                                        : "?");
        return text;
    }
    return "(unknown build)";
}

static const char *str_or(const json_t *obj, const char *path, const char *dflt)
{
    const char *s = json_string_value(report_path(obj, path));
    return s ? s : dflt;
}

/* What a build's status says, for a sentence ("Not measured: the build died"). */
static const char *status_text(const char *status)
{
    if (strcmp(status, "dead") == 0)
        return "the build died while it was measured";
    if (strcmp(status, "interrupted") == 0)
        return "the run was interrupted";
    if (strcmp(status, "not-run") == 0)
        return "the run ended before it";
    return "the build failed";
}

static void effect_line(FILE *out, const json_t *prev, const json_t *cur)
{
    const char *name = json_string_value(json_object_get(cur, "build"));
    double m0 = val(prev, "latency_ms.mean"), m1 = val(cur, "latency_ms.mean");
    double p0 = val(prev, "latency_ms.p99"), p1 = val(cur, "latency_ms.p99");

    fprintf(out, "- **%s**: %s. ", name, step_change(cur));
    if (strcmp(str_or(cur, "status", ""), "ok") != 0) {
        fprintf(out, "Not measured: %s (%s).\n", status_text(str_or(cur, "status", "")),
                str_or(cur, "reason", "no reason recorded"));
        return;
    }
    fprintf(out, "Mean %s → %s ms", report_fmt(report_path(prev, "latency_ms.mean"), 'm'),
            report_fmt(report_path(cur, "latency_ms.mean"), 'm'));
    if (isfinite(m0) && isfinite(m1) && m1 > 0)
        fprintf(out, " (×%.3g)", m0 / m1);
    fprintf(out, ", p99 %s → %s ms", report_fmt(report_path(prev, "latency_ms.p99"), 'm'),
            report_fmt(report_path(cur, "latency_ms.p99"), 'm'));
    if (isfinite(p0) && isfinite(p1) && p1 > 0)
        fprintf(out, " (×%.3g)", p0 / p1);
    {
        char c0[128], c1[128];
        fprintf(out,
                "; at 167 req/s mean %s → %s ms, p99 %s → %s ms; queries/request %s → %s; "
                "connections/request %s → %s; cache hit %s → %s; bytes sent/response %s → "
                "%s; capacity %s → %s req/s.\n",
                report_fmt(report_path(prev, "article_load.latency_ms.mean"), 'm'),
                report_fmt(report_path(cur, "article_load.latency_ms.mean"), 'm'),
                report_fmt(report_path(prev, "article_load.latency_ms.p99"), 'm'),
                report_fmt(report_path(cur, "article_load.latency_ms.p99"), 'm'),
                report_fmt(report_path(prev, "db_queries_per_request.server"), 'q'),
                report_fmt(report_path(cur, "db_queries_per_request.server"), 'q'),
                report_fmt(report_path(prev, "connections_opened_per_request"), 'q'),
                report_fmt(report_path(cur, "connections_opened_per_request"), 'q'),
                report_fmt(report_path(prev, "cache_hit_rate.overall"), 'p'),
                report_fmt(report_path(cur, "cache_hit_rate.overall"), 'p'),
                report_fmt(report_path(prev, "bytes_per_response.sent"), 'b'),
                report_fmt(report_path(cur, "bytes_per_response.sent"), 'b'),
                capacity_text(prev, c0, sizeof c0), capacity_text(cur, c1, sizeof c1));
    }
}

static void write_header(FILE *out, const json_t *run)
{
    fprintf(out, "# apibench reproduction %s\n\n", str_or(run, "id", "(unnamed)"));
    if (json_is_true(json_object_get(run, "partial"))) {
        fprintf(out, "> **PARTIAL RUN.** It was interrupted or cut short: builds without "
                     "figures below were not measured.");
        if (json_is_string(json_object_get(run, "interrupted")))
            fprintf(out, " Interrupted by %s.", str_or(run, "interrupted", ""));
        fprintf(out, "\n\n");
    }
    fprintf(out,
            "Measured on `%s` (%s, %s cores, %s bytes of memory), %s, from %s to %s. "
            "Mode: %s, scale %s, seed %s.\n\n",
            str_or(run, "hostname", "?"), str_or(run, "cpu_model", "?"),
            report_fmt(json_object_get(run, "cores"), 'b'),
            report_fmt(json_object_get(run, "memory_bytes"), 'b'), str_or(run, "kernel", "?"),
            str_or(run, "started_at", "?"), str_or(run, "finished_at", "?"),
            json_is_true(json_object_get(run, "quick")) ? "--quick" : "default",
            report_fmt(json_object_get(run, "scale"), 'b'),
            report_fmt(json_object_get(run, "seed"), 'b'));
}

/* A rate as the report prints it: whole req/s from 100 up, else two decimals. */
static const char *rate_text(double x)
{
    static char ring[16][32];
    static unsigned next;
    char *buf = ring[next++ % 16];

    if (!isfinite(x))
        return "n/a";
    snprintf(buf, 32, x >= 100 ? "%.0f" : "%.2f", x);
    return buf;
}

/* A build's capacity as the report words it: "[lower, upper]", "≥ ceiling (limited by the
 * load generator)" or "< R (fails the SLO at the lightest load)". */
static const char *capacity_text(const json_t *b, char *buf, size_t len)
{
    const json_t *c = json_object_get(b, "capacity");
    double lo = val(c, "lower"), up = val(c, "upper");

    if (!isfinite(lo))
        snprintf(buf, len, "n/a");
    else if (strcmp(str_or(c, "limited_by", ""), "generator") == 0)
        snprintf(buf, len, "≥ %s (limited by the load generator)", rate_text(lo));
    else if (lo <= 0 && isfinite(up))
        snprintf(buf, len, "< %s (fails the SLO at the lightest load)", rate_text(up));
    else if (isfinite(up))
        snprintf(buf, len, "[%s, %s]", rate_text(lo), rate_text(up));
    else
        snprintf(buf, len, "≥ %s", rate_text(lo));
    return buf;
}

static int repeats_of(const json_t *b)
{
    return (int)(isfinite(val(b, "repeats")) ? val(b, "repeats") : 0);
}

/* Whether the [min, max] ranges at path of a and b overlap: 1 yes, 0 no, -1 when either
 * build has fewer than two repeats (no range was measured). */
static int ranges_overlap(const json_t *a, const json_t *b, const char *path)
{
    const json_t *ra = report_path(a, path), *rb = report_path(b, path);
    double alo = json_number_value(json_array_get(ra, 0));
    double ahi = json_number_value(json_array_get(ra, 1));
    double blo = json_number_value(json_array_get(rb, 0));
    double bhi = json_number_value(json_array_get(rb, 1));

    if (repeats_of(a) < 2 || repeats_of(b) < 2 || !json_is_array(ra) || !json_is_array(rb))
        return -1;
    if (json_is_null(json_array_get(ra, 1)))
        ahi = INFINITY;
    if (json_is_null(json_array_get(rb, 1)))
        bhi = INFINITY;
    return alo <= bhi && blo <= ahi;
}

/* The outer bracket of a build's capacity over its repeats: lowest lower, highest upper
 * (INFINITY when open). False when the build has no capacity. */
static bool outer_bracket(const json_t *b, double *lo, double *hi)
{
    const json_t *rl = report_path(b, "capacity.range.lower");
    const json_t *ru = report_path(b, "capacity.range.upper");

    *lo = json_is_array(rl) ? json_number_value(json_array_get(rl, 0)) : val(b, "capacity.lower");
    if (json_is_array(ru))
        *hi = json_is_number(json_array_get(ru, 1)) ? json_number_value(json_array_get(ru, 1))
                                                    : INFINITY;
    else
        *hi = isfinite(val(b, "capacity.upper")) ? val(b, "capacity.upper") : INFINITY;
    return isfinite(*lo);
}

/* Whether two builds' capacity brackets, over all repeats, overlap (1/0, -1 unknown). */
static int brackets_overlap(const json_t *a, const json_t *b)
{
    double alo, ahi, blo, bhi;

    if (!outer_bracket(a, &alo, &ahi) || !outer_bracket(b, &blo, &bhi))
        return -1;
    return alo < bhi && blo < ahi;
}

/* "median [min–max]" of the figure at path (its range at range_path), or the median alone
 * with one repeat. */
static const char *with_range(const json_t *b, const char *path, const char *range_path, char kind)
{
    static char ring[8][96];
    static unsigned next;
    char *buf = ring[next++ % 8];
    const json_t *r = report_path(b, range_path);

    if (repeats_of(b) >= 2 && json_is_array(r))
        snprintf(buf, 96, "%s [%s–%s]", report_fmt(report_path(b, path), kind),
                 report_fmt(json_array_get(r, 0), kind), report_fmt(json_array_get(r, 1), kind));
    else
        snprintf(buf, 96, "%s", report_fmt(report_path(b, path), kind));
    return buf;
}

/* One row of the article's table at both load points. path167 NULL: not measured there. */
static void article_row2(FILE *out, const char *metric, const char *a_before, const char *a_after,
                         const char *a_change, const json_t *first, const json_t *last,
                         const char *path, const char *path167, char kind, const char *down_word)
{
    char change[64], change167[64];

    change_text(val(first, path), val(last, path), down_word ? down_word : "", change,
                sizeof change);
    if (down_word == NULL)
        snprintf(change, sizeof change, "—");
    fprintf(out, "| %s | %s | %s | %s | %s | %s | %s |", metric, a_before, a_after, a_change,
            report_fmt(report_path(first, path), kind), report_fmt(report_path(last, path), kind),
            change);
    if (path167 == NULL) {
        fprintf(out, " — | — | — |\n");
        return;
    }
    change_text(val(first, path167), val(last, path167), down_word ? down_word : "", change167,
                sizeof change167);
    if (down_word == NULL)
        snprintf(change167, sizeof change167, "—");
    fprintf(out, " %s | %s | %s |\n", report_fmt(report_path(first, path167), kind),
            report_fmt(report_path(last, path167), kind), change167);
}

static void write_article_table(FILE *out, const json_t *run, const json_t *builds)
{
    const json_t *first = find_build(builds, "01"), *last = find_build(builds, "06");

    double repeats = val(run, "repeat");
    char repeats_text[96];
    if (isfinite(repeats) && repeats > 1)
        snprintf(repeats_text, sizeof repeats_text, "Figures are medians of %.0f repeats.",
                 repeats);
    else
        snprintf(repeats_text, sizeof repeats_text, "Each build was measured once.");
    fprintf(out, "## The article's results beside the measured ones\n\n");
    fprintf(out,
            "Before = 01-baseline, after = 06-async, at two load points: **(a)** the common "
            "offered rate of **%s req/s** (%s: the rate where the baseline is at its "
            "knee), and **(b)** the article's own load, 10k requests/minute = **%s req/s**, "
            "measured %s s per build (a build that cannot hold it: %s s). The article ran "
            "on hardware it does not describe. %s\n\n",
            report_fmt(json_object_get(run, "common_rate"), 'r'),
            str_or(run, "rate_source", "calibrated"),
            rate_text(isfinite(val(run, "article_rate")) ? val(run, "article_rate") : 167),
            report_fmt(json_object_get(run, "article_s"), 'b'),
            report_fmt(json_object_get(run, "overload_s"), 'b'), repeats_text);
    fprintf(out, "| Metric | Article before | Article after | Article change | (a) before | "
                 "(a) after | (a) change | (b) 167 req/s before | (b) after | (b) change |\n");
    fprintf(out, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    article_row2(out, "Response time mean (ms)", "2000", "50", "97% faster", first, last,
                 "latency_ms.mean", "article_load.latency_ms.mean", 'm', "faster");
    article_row2(out, "Response time p99 (ms)", "—", "—", "—", first, last, "latency_ms.p99",
                 "article_load.latency_ms.p99", 'm', "faster");
    article_row2(out, "Requests behind the latency figures (n)", "—", "—", "—", first, last,
                 "latency_count", "article_load.latency_count", 'b', NULL);
    article_row2(out, "Database queries per headline request (sequential sample)", "15", "2",
                 "87% reduction", first, last, "headline_sample.db_queries_per_request.server",
                 NULL, 'q', "fewer");
    article_row2(out, "Database queries per request (whole mix)", "—", "—", "—", first, last,
                 "db_queries_per_request.server", "article_load.db_queries_per_request.server", 'q',
                 "fewer");
    article_row2(out, "Cache hit rate", "0%", "85%", "new capability", first, last,
                 "cache_hit_rate.overall", "article_load.cache_hit_rate.overall", 'p', "lower");
    article_row2(out, "Server CPU (% of machine)", "80%", "25%", "69% reduction", first, last,
                 "cpu.server_pct", "article_load.cpu.server_pct", 'c', "less");
    article_row2(out, "Postgres CPU (% of machine)", "—", "—", "—", first, last, "cpu.postgres_pct",
                 "article_load.cpu.postgres_pct", 'c', "less");
    article_row2(out, "CPU-µs per request (server + Postgres + worker)", "—", "—", "—", first, last,
                 "cpu.total_us_per_request", "article_load.cpu.total_us_per_request", 'b', "less");
    article_row2(out, "Error rate", "2%", "0.1%", "95% reduction", first, last, "errors.rate",
                 "article_load.errors.rate", 'p', "fewer");
    article_row2(out, "Achieved rate (req/s)", "—", "—", "—", first, last, "throughput_rps",
                 "article_load.achieved_rps", 'r', "lower");
    double timeout_ms = val(run, "article_timeout_ms");
    fprintf(out, "\nRequests that fail or time out count in the latency figures as at least "
                 "their timeout (");
    if (isfinite(timeout_ms))
        fprintf(out, "%g s at 167 req/s, ", timeout_ms / 1000.0);
    double probe_timeout_ms = val(run, "capacity_timeout_ms");
    if (isfinite(probe_timeout_ms))
        fprintf(out, "%g s in capacity probes, ", probe_timeout_ms / 1000.0);
    fprintf(out, "30 s at the common rate), so that an overloaded build's percentiles are not "
                 "those of its survivors alone; a request never sent counts from its intended "
                 "send time. Percentiles are read with the request count beside them: see "
                 "\"Percentiles and sample sizes\" below.");
    if (first && json_is_false(report_path(first, "article_load.held")))
        fprintf(out, " 01-baseline cannot hold 167 req/s: its (b) column is the overload "
                     "described in \"Overload at 167 req/s\", the article's \"before\" state.");
    fprintf(out, "\n\n");
}

static void write_capacity(FILE *out, const json_t *summary)
{
    const json_t *run = json_object_get(summary, "run"),
                 *builds = json_object_get(summary, "builds");
    const json_t *gen = json_object_get(summary, "generator"), *prev = NULL;
    char text[128];
    size_t i;
    json_t *b;

    fprintf(out, "## Capacity under the SLO\n\n");
    fprintf(out,
            "The highest offered rate each build holds with p99 < %s ms, errors < 1%% and "
            "≥ 95%% of the offered requests served (`apibench capacity`): probes ×2 up "
            "(÷2 down) from a start rate, then geometric bisection between the highest "
            "pass and the lowest fail until upper/lower ≤ %s, then one confirmation run "
            "at the lower bound. Each probe lasts ≥ %s s and ≥ %s requests. The search "
            "stops at the load generator's ceiling (%s req/s with identity bodies, %s "
            "with gzip): a build that holds there is reported as ≥ the ceiling, not as "
            "its own capacity.\n\n",
            report_fmt(json_object_get(run, "slo_p99_ms"), 'b'),
            isfinite(val(run, "capacity_tolerance"))
                ? report_fmt(json_object_get(run, "capacity_tolerance"), 'r')
                : "n/a",
            report_fmt(json_object_get(run, "capacity_min_s"), 'b'),
            report_fmt(json_object_get(run, "capacity_min_requests"), 'b'),
            rate_text(val(gen, "ceiling_rps.identity")), rate_text(val(gen, "ceiling_rps.gzip")));
    fprintf(out, "| Build | Capacity (req/s) | Lower bound over repeats | Probes | Confirmed | "
                 "vs the previous build |\n| --- | --- | --- | --- | --- | --- |\n");
    json_array_foreach(builds, i, b)
    {
        const json_t *lr = report_path(b, "capacity.range.lower");
        char range[64] = "n/a", vs[96] = "";
        int overlap;

        if (strcmp(str_or(b, "status", ""), "ok") != 0) {
            fprintf(out, "| %s | not measured | | | | |\n", str_or(b, "build", "?"));
            continue;
        }
        if (json_is_array(lr))
            snprintf(range, sizeof range,
                     repeats_of(b) >= 2 ? "%s–%s (%d repeats)" : "%s%.0s (%d repeat)",
                     rate_text(json_number_value(json_array_get(lr, 0))),
                     rate_text(json_number_value(json_array_get(lr, 1))), repeats_of(b));
        if (prev) {
            overlap = brackets_overlap(prev, b);
            snprintf(vs, sizeof vs, "%s",
                     overlap < 0 ? "n/a"
                     : repeats_of(b) < 2 || repeats_of(prev) < 2
                         ? (overlap ? "brackets overlap (1 repeat: noise not measured)"
                                    : "brackets apart (1 repeat: noise not measured)")
                     : overlap ? "within noise (brackets overlap)"
                               : "differs (brackets apart)");
        }
        fprintf(out, "| %s | %s | %s | %zu | %s | %s |\n", str_or(b, "build", "?"),
                capacity_text(b, text, sizeof text), range,
                json_array_size(report_path(b, "capacity.probes")),
                json_is_true(report_path(b, "capacity.confirmed")) ? "yes" : "no", vs);
        prev = b;
    }
    fprintf(out, "\nA build with no search (it already failed the SLO at the common rate) is "
                 "reported as below the common rate. See `plots/capacity.png` (bars with their "
                 "brackets, the ceiling drawn across) and `plots/latency_throughput.png` (p50 "
                 "and p99 against achieved rate, from every probe).\n\n");
}

static void write_generator(FILE *out, const json_t *summary)
{
    const json_t *gen = json_object_get(summary, "generator");
    const json_t *pl = json_object_get(summary, "cpu_placement");
    static const char *const which[] = {"common", "article"};
    char text[160];

    fprintf(out, "## The load generator's own limits\n\n");
    fprintf(out,
            "Measured in this run against nginx serving a static file of the headline's "
            "size (%s bytes identity, %s gzip).\n\n",
            report_fmt(report_path(gen, "body_bytes.identity"), 'b'),
            report_fmt(report_path(gen, "body_bytes.gzip"), 'b'));
    fprintf(out, "- **Ceiling**: the highest rate the harness drives with send-lag p99 within "
                 "the bound: identity ");
    for (int e = 0; e < 2; e++) {
        const json_t *c = report_path(gen, e == 0 ? "ceiling.identity" : "ceiling.gzip");
        double lo = val(c, "lower"), up = val(c, "upper");
        if (!json_is_object(c))
            snprintf(text, sizeof text, "n/a (not measured)");
        else if (isfinite(up))
            snprintf(text, sizeof text, "[%s, %s] req/s", rate_text(lo), rate_text(up));
        else
            snprintf(text, sizeof text, "≥ %s req/s", rate_text(lo));
        fprintf(out, "%s%s", text, e == 0 ? ", gzip " : ".\n");
    }
    for (int w = 0; w < 2; w++) {
        char path[64];
        const json_t *f;
        snprintf(path, sizeof path, "floor_ms.%s", which[w]);
        f = report_path(gen, path);
        if (!json_is_object(f)) {
            fprintf(out, "- **Floor at the %s rate**: n/a (not measured).\n",
                    w == 0 ? "common" : "article's");
            continue;
        }
        fprintf(
            out,
            "- **Floor at %s req/s** (%s requests): mean %s ms, p50 %s ms, p99 %s ms, "
            "max %s ms; send-lag p99 %s ms.\n",
            rate_text(val(f, "rate")), report_fmt(json_object_get(f, "count"), 'b'),
            report_fmt(json_object_get(f, "mean"), 'q'), report_fmt(json_object_get(f, "p50"), 'q'),
            report_fmt(json_object_get(f, "p99"), 'q'), report_fmt(json_object_get(f, "max"), 'q'),
            report_fmt(json_object_get(f, "send_lag_p99"), 'q'));
    }
    fprintf(out, "\nThe floor is the part of a figure that is the harness's own: a build's p99 "
                 "near the floor's says little about the build. It is drawn on "
                 "`plots/spectra.png` and `plots/latency_throughput.png`.\n\n");
    if (strcmp(str_or(pl, "mode", ""), "split") == 0)
        fprintf(out,
                "**CPU placement: split.** The generator ran on CPUs %s and the servers "
                "(with Postgres and Redis) on CPUs %s (taskset).\n\n",
                str_or(pl, "generator_cpus", "?"), str_or(pl, "server_cpus", "?"));
    else if (strcmp(str_or(pl, "mode", ""), "shared") == 0)
        fprintf(out,
                "**CPU placement: shared.** With %s cores the generator and the servers "
                "share every core, so the generator's CPU competes with the server's and "
                "near the ceiling both figures are the pair's, not the server's alone.\n\n",
                report_fmt(json_object_get(pl, "cores"), 'b'));
    else
        fprintf(out, "**CPU placement:** not recorded.\n\n");
}

static void write_overload(FILE *out, const json_t *run, const json_t *builds)
{
    size_t i;
    json_t *b;
    int any = 0;

    fprintf(out, "## Overload at 167 req/s\n\n");
    json_array_foreach(builds, i, b)
    {
        const json_t *a = json_object_get(b, "article_load");
        const json_t *e = json_object_get(a, "errors"), *tl = json_object_get(a, "timeline");
        static const char *const kinds[] = {"timeout", "connect", "http_4xx", "http_5xx",
                                            "other",   "backlog", "unsent"};
        size_t len = json_array_size(tl), shown = 0;

        if (!json_is_false(json_object_get(a, "held")))
            continue;
        any++;
        fprintf(out,
                "**%s** did not hold %s req/s (%s of %s repeats held). Offered for %s s, "
                "it achieved **%s req/s**: %s responses of %s requests due. Errors %s:",
                str_or(b, "build", "?"), rate_text(val(a, "offered_rps")),
                report_fmt(json_object_get(a, "held_repeats"), 'b'),
                report_fmt(json_object_get(b, "repeats"), 'b'),
                report_fmt(json_object_get(a, "measured_s"), 'b'),
                report_fmt(json_object_get(a, "achieved_rps"), 'r'),
                report_fmt(json_object_get(a, "requests"), 'b'),
                report_fmt(json_object_get(a, "due"), 'b'),
                report_fmt(json_object_get(e, "rate"), 'p'));
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            if (val(e, kinds[k]) > 0)
                fprintf(out, "%s %s %s", shown++ ? "," : "", kinds[k],
                        report_fmt(json_object_get(e, kinds[k]), 'b'));
        shown = 0;
        fprintf(out,
                ". CPU: server %s, Postgres %s of the machine (machine busy %s); %s "
                "CPU-µs per answered request. Latency (failed requests at ≥ their "
                "timeout) mean %s ms, p99 %s ms of %s; answered requests only: mean %s ms, "
                "p99 %s ms.\n\n",
                report_fmt(report_path(a, "cpu.server_pct"), 'c'),
                report_fmt(report_path(a, "cpu.postgres_pct"), 'c'),
                report_fmt(report_path(a, "cpu.machine_pct"), 'c'),
                report_fmt(report_path(a, "cpu.total_us_per_request"), 'b'),
                report_fmt(report_path(a, "latency_ms.mean"), 'm'),
                report_fmt(report_path(a, "latency_ms.p99"), 'm'),
                report_fmt(json_object_get(a, "latency_count"), 'b'),
                report_fmt(report_path(a, "latency_answered_ms.mean"), 'm'),
                report_fmt(report_path(a, "latency_answered_ms.p99"), 'm'));
        if (len == 0) {
            fprintf(out, "No timeline was recorded.\n\n");
            continue;
        }
        fprintf(out, "Latency by second of intended send time (median over repeats; "
                     "`plots/overload.png`):\n\n| second | due | responses | errors | mean (ms) | "
                     "max (ms) |\n| --- | --- | --- | --- | --- | --- |\n");
        /* at most six rows, evenly spread, first and last included */
        for (size_t k = 0; k < len; k++) {
            size_t want = len <= 6 ? k : shown * (len - 1) / 5;
            const json_t *s = json_array_get(tl, k);
            if (k != want)
                continue;
            shown++;
            fprintf(out, "| %s | %s | %s | %s | %s | %s |\n",
                    report_fmt(json_object_get(s, "t_s"), 'b'),
                    report_fmt(json_object_get(s, "due"), 'b'),
                    report_fmt(json_object_get(s, "responses"), 'b'),
                    report_fmt(json_object_get(s, "errors"), 'b'),
                    report_fmt(json_object_get(s, "mean_ms"), 'm'),
                    report_fmt(json_object_get(s, "max_ms"), 'm'));
        }
        {
            double m0 = val(json_array_get(tl, 0), "mean_ms");
            double m1 = val(json_array_get(tl, len - 1), "mean_ms");
            size_t silent = len; /* the first second from which nothing was answered */
            for (size_t k = len; k > 0 && val(json_array_get(tl, k - 1), "responses") == 0; k--)
                silent = k - 1;
            if (silent < len)
                /* never-sent requests are timed up to when the run gave up on them, so
                 * their figures shrink with later send times: say what that means */
                fprintf(out,
                        "\nFrom second %zu on, no request due was answered: the queue outgrew "
                        "the run. A request never sent counts from its intended send time to "
                        "when the run gave up on it (the end of the phase plus the timeout), "
                        "so the later its send time, the smaller its recorded latency; its "
                        "real latency has no bound.\n",
                        silent);
            else if (isfinite(m0) && isfinite(m1) && len > 1)
                fprintf(out, "\nThe mean %s from %.1f ms to %.1f ms over %zu s: %s.\n",
                        m1 > m0 ? "grew" : "went", m0, m1, len,
                        m1 > 1.5 * m0 ? "a queue that grows as long as the load lasts"
                                      : "it did not grow steadily");
        }
        fprintf(out, "\n");
    }
    if (!any)
        fprintf(out, "Every measured build held %s req/s.\n\n",
                rate_text(isfinite(val(run, "article_rate")) ? val(run, "article_rate") : 167));
}

static void write_noise(FILE *out, const json_t *run, const json_t *builds)
{
    const json_t *prev = NULL;
    size_t i;
    json_t *b;

    fprintf(out, "## Noise\n\n");
    if (val(run, "repeat") >= 2)
        fprintf(out,
                "Each build was measured %s times, interleaved (01..06, 01..06, ...) so "
                "that drift spreads evenly; figures are medians, [min–max] the range. "
                "Neighbouring builds are \"within noise\" when their ranges overlap.",
                report_fmt(json_object_get(run, "repeat"), 'b'));
    else
        fprintf(out, "Each build was measured once: no range was measured, so no difference "
                     "below can be told from noise (`--repeat N` measures N times).");
    fprintf(out, " The machine's cores are shared with everything else that ran at the "
                 "time.\n\n| Build | Repeats | Mean at 167 req/s (ms) | p99 at 167 req/s (ms) | "
                 "Mean at the common rate (ms) | vs the previous build |\n"
                 "| --- | --- | --- | --- | --- | --- |\n");
    json_array_foreach(builds, i, b)
    {
        char vs[160] = "";
        if (strcmp(str_or(b, "status", ""), "ok") != 0)
            continue;
        if (prev) {
            int m = ranges_overlap(prev, b, "article_load.range.mean_ms");
            int p = ranges_overlap(prev, b, "article_load.range.p99_ms");
            int c = ranges_overlap(prev, b, "range.mean_ms");
            if (m < 0 || p < 0 || c < 0)
                snprintf(vs, sizeof vs, "no range measured (1 repeat)");
            else
                snprintf(vs, sizeof vs, "mean at 167: %s; p99 at 167: %s; common mean: %s",
                         m ? "within noise" : "differs", p ? "within noise" : "differs",
                         c ? "within noise" : "differs");
        }
        fprintf(out, "| %s | %d | %s | %s | %s | %s |\n", str_or(b, "build", "?"), repeats_of(b),
                with_range(b, "article_load.latency_ms.mean", "article_load.range.mean_ms", 'm'),
                with_range(b, "article_load.latency_ms.p99", "article_load.range.p99_ms", 'm'),
                with_range(b, "latency_ms.mean", "range.mean_ms", 'm'), vs);
        prev = b;
    }
    fprintf(out, "\n");
}

/* The figures at 167 req/s, every build. */
static const struct row rows167[] = {
    {"Offered rate (req/s)", "article_load.offered_rps", 'r'},
    {"Achieved rate (req/s)", "article_load.achieved_rps", 'r'},
    {"Measured (s)", "article_load.measured_s", 'b'},
    {"Requests answered", "article_load.requests", 'b'},
    {"Requests behind the latency figures (n)", "article_load.latency_count", 'b'},
    {"Response time mean (ms)", "article_load.latency_ms.mean", 'm'},
    {"Response time p50 (ms)", "article_load.latency_ms.p50", 'm'},
    {"Response time p90 (ms)", "article_load.latency_ms.p90", 'm'},
    {"Response time p99 (ms)", "article_load.latency_ms.p99", 'm'},
    {"Response time max (ms)", "article_load.latency_ms.max", 'm'},
    {"Answered only: p99 (ms)", "article_load.latency_answered_ms.p99", 'm'},
    {"Error rate", "article_load.errors.rate", 'p'},
    {"Errors: timeout", "article_load.errors.timeout", 'b'},
    {"Errors: connect", "article_load.errors.connect", 'b'},
    {"Errors: HTTP 5xx", "article_load.errors.http_5xx", 'b'},
    {"Errors: generator backlog", "article_load.errors.backlog", 'b'},
    {"Server CPU (% of machine)", "article_load.cpu.server_pct", 'c'},
    {"Postgres CPU (% of machine)", "article_load.cpu.postgres_pct", 'c'},
    {"Worker CPU (% of machine)", "article_load.cpu.worker_pct", 'c'},
    {"Machine CPU busy (all processes)", "article_load.cpu.machine_pct", 'c'},
    {"Server CPU-µs/request", "article_load.cpu.server_us_per_request", 'b'},
    {"Postgres CPU-µs/request", "article_load.cpu.postgres_us_per_request", 'b'},
    {"Total CPU-µs/request", "article_load.cpu.total_us_per_request", 'b'},
    {"DB queries/request, whole mix (server counter)", "article_load.db_queries_per_request.server",
     'q'},
    {"Cache hit rate overall", "article_load.cache_hit_rate.overall", 'p'},
    {"Bytes/response sent", "article_load.bytes_per_response.sent", 'b'},
};

static void write_table(FILE *out, const json_t *builds, const struct row *r, size_t n)
{
    size_t i;
    json_t *b;

    fprintf(out, "| Metric |");
    json_array_foreach(builds, i, b)
        fprintf(out, " %s |", json_string_value(json_object_get(b, "build")));
    fprintf(out, "\n| --- |");
    json_array_foreach(builds, i, b) fprintf(out, " --- |");
    fprintf(out, "\n");
    for (size_t k = 0; k < n; k++) {
        fprintf(out, "| %s |", r[k].label);
        json_array_foreach(builds, i, b)
            fprintf(out, " %s |", report_fmt(report_path(b, r[k].path), r[k].kind));
        fprintf(out, "\n");
    }
}

static void write_article_load_table(FILE *out, const json_t *builds)
{
    size_t i;
    json_t *b;

    fprintf(out, "## Every build at 167 req/s\n\n");
    write_table(out, builds, rows167, sizeof rows167 / sizeof rows167[0]);
    fprintf(out, "| Held the SLO |");
    json_array_foreach(builds, i, b)
    {
        const json_t *h = report_path(b, "article_load.held");
        fprintf(out, " %s |", json_is_true(h) ? "yes" : json_is_false(h) ? "**no**" : "n/a");
    }
    fprintf(out, "\n\nCPU-µs/request = CPU time over the phase / the API requests the server "
                 "answered in it.\n\n");
}

/* The one percentile rule, and what it means for the fewest samples in this report. */
static void write_percentiles(FILE *out, const json_t *builds)
{
    static const char *const where[] = {"latency_count", "the common rate",
                                        "article_load.latency_count", "167 req/s"};
    size_t i;
    json_t *b;

    fprintf(out, "## Percentiles and sample sizes\n\n"
                 "One rule everywhere (HdrHistogram's): pN of n values is the value of rank "
                 "round(N/100 × n), half up, at least 1. So p99 of n values is the largest "
                 "when n ≤ 50 and the second largest for n = 51..150; p90 is the largest when "
                 "n ≤ 5. Latency histograms report the highest value of the rank's bucket "
                 "(3 significant digits). Medians over repeats are the middle value (the mean "
                 "of the middle two for an even count).\n\n");
    for (int w = 0; w < 4; w += 2) {
        double fewest = INFINITY;
        const char *name = NULL;
        json_array_foreach(builds, i, b)
        {
            double n = val(b, where[w]);
            if (isfinite(n) && n < fewest) {
                fewest = n;
                name = str_or(b, "build", "?");
            }
        }
        if (!(fewest >= 1 && fewest < 1e15)) /* no count, or none a run could have made */
            continue;
        {
            int64_t n = (int64_t)fewest, r99 = hist_percentile_rank(99, n);
            int64_t r90 = hist_percentile_rank(90, n);
            fprintf(out,
                    "- At %s the fewest values behind a figure are %" PRId64 " (%s): p99 "
                    "is rank %" PRId64 " of %" PRId64 "%s, p90 rank %" PRId64 "%s.\n",
                    where[w + 1], n, name, r99, n, r99 == n ? " (the largest)" : "", r90,
                    r90 == n ? " (the largest)" : "");
        }
    }
    fprintf(out, "\n");
}

static void write_measured_table(FILE *out, const json_t *builds)
{
    size_t i;
    json_t *b;

    fprintf(out, "| Metric |");
    json_array_foreach(builds, i, b)
        fprintf(out, " %s |", json_string_value(json_object_get(b, "build")));
    fprintf(out, "\n| --- |");
    json_array_foreach(builds, i, b) fprintf(out, " --- |");
    fprintf(out, "\n| Status |");
    json_array_foreach(builds, i, b)
        fprintf(out, " %s |", json_string_value(json_object_get(b, "status")));
    fprintf(out, "\n");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        fprintf(out, "| %s |", rows[r].label);
        json_array_foreach(builds, i, b)
        {
            char cap[128];
            fprintf(out, " %s |",
                    rows[r].kind == 'C' ? capacity_text(b, cap, sizeof cap)
                                        : report_fmt(report_path(b, rows[r].path), rows[r].kind));
        }
        fprintf(out, "\n");
    }
    fprintf(out, "\n");
    fprintf(out, "At the common rate; medians of the repeats. Capacity: see \"Capacity under "
                 "the SLO\".\n\n");
    json_array_foreach(builds, i, b)
    {
        static const char *const where[] = {"db_queries_per_request", "whole mix",
                                            "headline_sample.db_queries_per_request",
                                            "headline sample"};
        for (int w = 0; w < 4; w += 2) {
            char p_agree[96], p_server[96], p_pg[96];
            snprintf(p_agree, sizeof p_agree, "%s.agree", where[w]);
            snprintf(p_server, sizeof p_server, "%s.server", where[w]);
            snprintf(p_pg, sizeof p_pg, "%s.pg_stat_statements", where[w]);
            if (json_is_false(report_path(b, p_agree)))
                fprintf(out,
                        "**Mismatch (%s):** %s counted %s queries/request itself but "
                        "pg_stat_statements saw %s.\n\n",
                        where[w + 1], json_string_value(json_object_get(b, "build")),
                        report_fmt(report_path(b, p_server), 'q'),
                        report_fmt(report_path(b, p_pg), 'q'));
        }
    }
}

static void write_load_design(FILE *out, const json_t *summary)
{
    const json_t *run = json_object_get(summary, "run");
    const json_t *cal = json_object_get(summary, "calibration");
    size_t i;
    json_t *s;

    fprintf(out, "## Load design\n\n");
    fprintf(out,
            "The load is open-loop: each request is timed from the moment it was due, so a "
            "server that falls behind shows the queueing its clients would feel (no coordinated "
            "omission). Every build gets the same offered rate, so their figures compare at the "
            "same load. That rate is the highest the baseline holds: a calibration offers the "
            "baseline short steps of rising rate and keeps the highest step where it served "
            "what was offered (≥ 95%% of the offered requests sent and ≥ 95%% of them "
            "answered), with p99 under %s ms and at most twice the p99 of the first, lightest "
            "step (past that, requests already queue behind each other), and under 1%% errors. "
            "Offering the baseline more would measure an overflowing queue, not the build. "
            "`--rate R` replaces the calibration (the article's 10k req/min is `--rate 167`).\n\n",
            report_fmt(report_path(summary, "calibration.slo_p99_ms"), 'b'));
    fprintf(out,
            "Common rate: **%s req/s** (%s); warm-up %s s (discarded), measured phase %s s, "
            "mix `%s`.\n\n",
            report_fmt(json_object_get(run, "common_rate"), 'r'),
            str_or(run, "rate_source", "calibrated"),
            report_fmt(json_object_get(run, "warmup_s"), 'b'),
            report_fmt(json_object_get(run, "phase_s"), 'b'), str_or(run, "mix", "?"));
    if (json_array_size(json_object_get(cal, "steps")) > 0) {
        fprintf(out,
                "Calibration of 01-baseline:\n\n| offered (req/s) | achieved (req/s) | p99 (ms) | "
                "errors | holds |\n| --- | --- | --- | --- | --- |\n");
        json_array_foreach(json_object_get(cal, "steps"), i, s) fprintf(
            out, "| %s | %s | %s | %s | %s |\n", report_fmt(json_object_get(s, "offered"), 'r'),
            report_fmt(json_object_get(s, "achieved"), 'r'),
            report_fmt(json_object_get(s, "p99_ms"), 'm'),
            report_fmt(json_object_get(s, "error_rate"), 'p'),
            json_is_true(json_object_get(s, "holds")) ? "yes" : "no");
        fprintf(out, "\n");
    }
    fprintf(out,
            "The article's load: every build is also offered %s req/s for %s s after a "
            "warm-up (a build that cannot hold it for %s s, so that an overflowing queue "
            "is measured for a bounded time). Then `apibench capacity` searches its "
            "capacity (\"Capacity under the SLO\"), the 167 req/s run given in as a "
            "known probe.\n\n",
            rate_text(isfinite(val(run, "article_rate")) ? val(run, "article_rate") : 167),
            report_fmt(json_object_get(run, "article_s"), 'b'),
            report_fmt(json_object_get(run, "overload_s"), 'b'));
}

static void write_plans(FILE *out, const json_t *summary)
{
    const json_t *plans = json_object_get(summary, "plans");
    static const struct {
        const char *key, *what;
    } rowsp[] = {
        {"article_indexes_only", "article's optimised query, its two composite indexes only"},
        {"with_timestamp_index", "article's optimised query, plus readings(timestamp)"},
    };
    size_t i;
    json_t *b;

    fprintf(out, "## Query plans\n\n`EXPLAIN (ANALYZE, BUFFERS)` of the headline query, in "
                 "`plans/`.\n\n| plan | readings node | execution (ms) |\n| --- | --- | --- |\n");
    for (size_t r = 0; r < sizeof rowsp / sizeof rowsp[0]; r++) {
        const json_t *p = json_object_get(plans, rowsp[r].key);
        if (!json_is_object(p))
            continue;
        fprintf(out, "| [%s](%s) | `%s` | %s |\n", rowsp[r].what, str_or(p, "file", "?"),
                str_or(p, "readings_node", "?"),
                report_fmt(json_object_get(p, "execution_ms"), 'm'));
    }
    json_array_foreach(json_object_get(summary, "builds"), i, b)
    {
        const json_t *p = json_object_get(b, "plan");
        if (!json_is_object(p))
            continue;
        fprintf(out, "| [%s's own query set](%s) | `%s` | %s |\n",
                json_string_value(json_object_get(b, "build")), str_or(p, "file", "?"),
                str_or(p, "readings_node", "?"),
                report_fmt(json_object_get(p, "execution_ms"), 'm'));
    }
    {
        double only = val(plans, "article_indexes_only.execution_ms");
        double ts = val(plans, "with_timestamp_index.execution_ms");
        if (isfinite(only) && isfinite(ts))
            fprintf(out,
                    "\nWith only the article's indexes `(status, id)` and `(device_id, timestamp)` "
                    "its optimised query still reads readings through `%s` and takes %.1f ms: "
                    "neither index yields rows in global `timestamp` order. The index that serves "
                    "it is `readings_timestamp_idx` on `readings(timestamp)` "
                    "(`sql/index_headline.sql`): `%s`, %.1f ms.\n",
                    str_or(plans, "article_indexes_only.readings_node", "?"), only,
                    str_or(plans, "with_timestamp_index.readings_node", "?"), ts);
    }
    fprintf(out, "\n");
}

/* With --pgbouncer: the pool in the process (04-pool) against PgBouncer in front of
 * 03-cache's connection per request, at the same offered rate. */
static void write_pgbouncer(FILE *out, const json_t *builds)
{
    static const struct row cmp[] = {
        {"Response time mean (ms)", "latency_ms.mean", 'm'},
        {"Response time p99 (ms)", "latency_ms.p99", 'm'},
        {"Capacity under the SLO (req/s)", "capacity", 'C'},
        {"Connections opened/request (by the server)", "connections_opened_per_request", 'q'},
        {"DB queries/request (server counter)", "db_queries_per_request.server", 'q'},
        {"DB queries/request (pg_stat_statements)", "db_queries_per_request.pg_stat_statements",
         'q'},
        {"Server CPU (% of machine)", "cpu.server_pct", 'c'},
        {"Postgres CPU (% of machine)", "cpu.postgres_pct", 'c'},
    };
    const json_t *cache = find_build(builds, "03-"), *pool = find_build(builds, "04-pool");
    const json_t *pgb = find_build(builds, "04-pgbouncer");

    if (pgb == NULL)
        return;
    fprintf(out, "## PgBouncer instead of the in-process pool\n\n"
                 "`--pgbouncer` runs 03-cache's binary (a new connection per request) against a "
                 "private PgBouncer 1.18 on 127.0.0.1:56432 in **session** pooling with 20 "
                 "server connections. Session pooling because 04-pool prepares statements per "
                 "connection and PgBouncer 1.18's transaction pooling does not carry prepared "
                 "statements across server connections; with session pooling any build can sit "
                 "behind it unchanged. The server's connect then reaches PgBouncer, not a new "
                 "Postgres backend. pg_stat_statements also counts the statements PgBouncer "
                 "itself sends as the same role (`SET application_name` when a client session "
                 "starts, its `server_reset_query` `DISCARD ALL` when it ends), so its count is "
                 "higher than the server's here.\n\n"
                 "| Metric | 03-cache (connect to Postgres) | 04-pool (in-process pool) | "
                 "04-pgbouncer (connect to PgBouncer) |\n| --- | --- | --- | --- |\n");
    for (size_t r = 0; r < sizeof cmp / sizeof cmp[0]; r++) {
        char c0[128], c1[128], c2[128];
        bool bracket = cmp[r].kind == 'C';
        fprintf(out, "| %s | %s | %s | %s |\n", cmp[r].label,
                !cache    ? "n/a"
                : bracket ? capacity_text(cache, c0, sizeof c0)
                          : report_fmt(report_path(cache, cmp[r].path), cmp[r].kind),
                !pool     ? "n/a"
                : bracket ? capacity_text(pool, c1, sizeof c1)
                          : report_fmt(report_path(pool, cmp[r].path), cmp[r].kind),
                bracket ? capacity_text(pgb, c2, sizeof c2)
                        : report_fmt(report_path(pgb, cmp[r].path), cmp[r].kind));
    }
    fprintf(out, "\n");
}

static void write_where(FILE *out, const json_t *builds)
{
    size_t i;
    json_t *b;

    fprintf(out, "## Where the time goes, and the bytes\n\nServer-Timing averages over the "
                 "sampled headline responses (ms), and bytes per response before and after "
                 "encoding (all routes of the mix).\n\n| build | samples | db | cache | render | "
                 "encode | bytes rendered | bytes sent | saved |\n| --- | --- | --- | --- | --- | "
                 "--- | --- | --- | --- |\n");
    json_array_foreach(builds, i, b)
    {
        const json_t *t = json_object_get(b, "server_timing_ms");
        fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                json_string_value(json_object_get(b, "build")),
                report_fmt(json_object_get(t, "samples"), 'b'),
                report_fmt(json_object_get(t, "db"), 'q'),
                report_fmt(json_object_get(t, "cache"), 'q'),
                report_fmt(json_object_get(t, "render"), 'q'),
                report_fmt(json_object_get(t, "encode"), 'q'),
                report_fmt(report_path(b, "bytes_per_response.rendered"), 'b'),
                report_fmt(report_path(b, "bytes_per_response.sent"), 'b'),
                report_fmt(report_path(b, "bytes_per_response.saved"), 'p'));
    }
    fprintf(out, "\n");
}

int report_md_write(const json_t *summary, FILE *out)
{
    const json_t *run = json_object_get(summary, "run");
    const json_t *builds = json_object_get(summary, "builds");
    size_t i;
    json_t *b;
    int failed = 0;

    write_header(out, run);
    write_article_table(out, run, builds);
    fprintf(out, "![progression](plots/progression.png)\n\n");
    report_network_write(summary, out);
    write_capacity(out, summary);
    fprintf(out, "![capacity](plots/capacity.png)\n\n"
                 "![latency against throughput](plots/latency_throughput.png)\n\n");
    write_generator(out, summary);
    write_overload(out, run, builds);
    write_noise(out, run, builds);
    write_article_load_table(out, builds);
    report_ablation_write_md(summary, out);
    fprintf(out, "## Every build, measured\n\n");
    write_measured_table(out, builds);

    fprintf(out, "## Each step and its measured effect\n\n");
    {
        const json_t *prev = NULL; /* the last build measured before this one */
        /* an ablation's builds are compositions, not steps: no neighbour is "the step before" */
        bool as_steps = !json_is_object(json_object_get(summary, "ablation"));
        if (!as_steps)
            fprintf(out, "An ablation run: its builds are compositions, not steps (their "
                         "effects are in the Ablation section).\n\n");
        json_array_foreach(builds, i, b)
        {
            if (prev == NULL || !as_steps)
                fprintf(out, "- **%s**: %s.\n", json_string_value(json_object_get(b, "build")),
                        step_change(b));
            else
                effect_line(out, prev, b);
            if (strcmp(str_or(b, "status", ""), "ok") == 0)
                prev = b;
        }
    }
    fprintf(out, "\n");

    fprintf(out, "## Failed builds\n\n");
    json_array_foreach(builds, i, b)
    {
        const char *status = json_string_value(json_object_get(b, "status"));
        size_t j;
        json_t *line;
        if (status && strcmp(status, "ok") != 0) {
            fprintf(out, "- %s: %s%s%s\n", json_string_value(json_object_get(b, "build")), status,
                    json_object_get(b, "reason") ? ": " : "", str_or(b, "reason", ""));
            /* a build that died: the last lines its process logged */
            if (strcmp(status, "dead") == 0)
                fprintf(out, json_array_size(json_object_get(b, "last_log")) > 0
                                 ? "\n  Its last log lines:\n\n"
                                 : "\n  Its log was empty.\n\n");
            json_array_foreach(json_object_get(b, "last_log"), j, line)
                fprintf(out, "      %s\n", json_string_value(line));
            if (json_array_size(json_object_get(b, "last_log")) > 0)
                fprintf(out, "\n");
            failed++;
        }
    }
    if (failed == 0)
        fprintf(out, "None.\n");
    fprintf(out, "\n");
    json_array_foreach(builds, i, b)
    {
        const char *verify = str_or(b, "verify", "ok");
        if (strcmp(verify, "ok") != 0)
            fprintf(out,
                    "- `apibench verify` against %s: %s (the build was measured all the "
                    "same)\n",
                    json_string_value(json_object_get(b, "build")), verify);
    }
    fprintf(out, "\n");

    write_load_design(out, summary);
    write_percentiles(out, builds);
    write_plans(out, summary);
    write_pgbouncer(out, builds);
    report_instances_md(out, summary);
    write_where(out, builds);

    fprintf(out, "## Definitions\n\n"
                 "- Response time: completion − intended send time (corrected for coordinated "
                 "omission), over every request due in the measured phase. Requests that failed "
                 "or timed out count as at least their timeout (the later of their failure and "
                 "the timeout); \"answered only\" figures leave them out.\n"
                 "- Queries/request and connections/request: deltas of the server's counters "
                 "(and of `sum(calls)` in `pg_stat_statements` for the server's role) over the "
                 "measured phase, divided by the API requests the server counted. The two query "
                 "counts are flagged when they differ by more than 2%%.\n"
                 "- Cache hit rate: L1 = L1 hits / L1 lookups; L2 = L2 hits / L2 lookups; overall "
                 "= (L1 + L2 hits) / L1 lookups. 0%% for builds without a cache.\n"
                 "- CPU: CPU time over the measured window as a percentage of the whole machine "
                 "(all cores): 100%% = every core busy. Server = the servers' own "
                 "`process_cpu_seconds_total` (getrusage; summed over instances); worker and "
                 "Postgres = `utime + stime` from `/proc` (10 ms ticks). Postgres "
                 "= all its processes, including the exited backends (the postmaster's "
                 "`cutime + cstime`), so on a Postgres instance shared with other work it "
                 "counts that work too (\"machine CPU busy\" shows how busy the machine was). The "
                 "article's \"server CPU 80%%\" reads as machine "
                 "utilisation of the API's host; here the API process and Postgres share one "
                 "machine, so both are shown, and their sum. The load generator runs on the "
                 "same machine too and is counted in \"machine CPU busy\" only, with anything "
                 "else that ran at the time.\n"
                 "- Error rate: the load generator's failed requests / requests sent (timeouts, "
                 "connect errors, HTTP 4xx and 5xx, other), each kind listed.\n"
                 "- Job latency (06-async): `mailed_at − created_at` of the run's reports.\n\n");

    int instances = (int)json_number_value(
        json_object_get(json_object_get(summary, "run"), "instances"));
    if (instances > 1)
        fprintf(out,
                "With %d instances per build, one load generator sent the whole schedule to "
                "nginx in front of them (least_conn; see the capacity against K below), so "
                "every figure includes the balancer's hop.\n\n",
                instances);

    fprintf(out, "## Plots\n\n");
    static const char *const plots[] = {
        "progression",       "latency_throughput", "capacity", "overload", "spectra",
        "capacity_achieved", "capacity_p99",       "timing",   "bytes"};
    for (size_t p = 0; p < sizeof plots / sizeof plots[0]; p++)
        fprintf(out, "- [%s](plots/%s.png) ([SVG](plots/%s.svg))\n", plots[p], plots[p], plots[p]);
    if (json_is_object(json_object_get(summary, "ablation")))
        fprintf(out, "- [ablation](plots/ablation.png) ([SVG](plots/ablation.svg))\n");
    fprintf(out, "\nRaw files: `summary.json` (format in docs/RESULTS.md), `steps.log`, "
                 "`generator/` (ceiling searches, floor runs), `builds/NN-name/repeat-K/` (run "
                 "JSON, `.hgrm`, `.hlog`, metrics snapshots, `capacity/`), `plans/`.\n");
    return ferror(out) ? -1 : 0;
}
