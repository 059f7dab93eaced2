/* report_md.c - the reproduction's report: the article's table beside the measured one,
 * every build's figures, what each step changed, the load design, plans and plots. */
#include "report_md.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

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
static void change_text(double before, double after, const char *down_word, char *buf,
                        size_t len)
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
        snprintf(buf, len, "%.*f%% %s (÷%.*f)", pct >= 99.95 ? 2 : pct >= 99.5 ? 1 : 0, pct,
                 down_word, before / after >= 10 ? 0 : 2, before / after);
    else if (after <= before)
        snprintf(buf, len, "%.0f%% %s", pct, down_word);
    else
        snprintf(buf, len, "%.0f%% higher", (after - before) / before * 100.0);
}

static const json_t *find_build(const json_t *builds, const char *prefix)
{
    size_t i;
    json_t *b;
    json_array_foreach(builds, i, b) {
        const char *name = json_string_value(json_object_get(b, "build"));
        if (name && strncmp(name, prefix, strlen(prefix)) == 0)
            return b;
    }
    return NULL;
}

/* One row of the article's table: metric, article before/after/improvement, measured. */
static void article_row(FILE *out, const char *metric, const char *a_before, const char *a_after,
                        const char *a_change, const json_t *first, const json_t *last,
                        const char *path, char kind, const char *down_word)
{
    char change[64];
    change_text(val(first, path), val(last, path), down_word, change, sizeof change);
    fprintf(out, "| %s | %s | %s | %s | %s | %s | %s |\n", metric, a_before, a_after, a_change,
            report_fmt(report_path(first, path), kind), report_fmt(report_path(last, path), kind),
            change);
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
    {"Capacity under the SLO (req/s)", "capacity.rps", 'r'},
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
    {"01", "connection per request, the naive query set (SELECT *, OFFSET, COUNT, N+1), no "
           "cache, identity encoding, reports built and mailed inside the request"},
    {"02", "the article's two composite indexes plus readings(timestamp), and the rewritten "
           "query set (columns, 1-day filter, keyset cursor, joins)"},
    {"03", "L1 in-process TTL cache and L2 Redis cache, invalidated on ingest"},
    {"04", "a bounded libpq pool (max 20, min 5, idle 30 s, acquire timeout 2 s)"},
    {"05", "gzip (level 6, threshold 1 KB) when the client accepts it"},
    {"06", "reports and e-mail through a Redis Streams queue and a worker process"},
};

static const char *step_change(const char *build)
{
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (build && strncmp(build, steps[i].prefix, strlen(steps[i].prefix)) == 0)
            return steps[i].change;
    return "(unknown build)";
}

static const char *str_or(const json_t *obj, const char *path, const char *dflt)
{
    const char *s = json_string_value(report_path(obj, path));
    return s ? s : dflt;
}

static void effect_line(FILE *out, const json_t *prev, const json_t *cur)
{
    const char *name = json_string_value(json_object_get(cur, "build"));
    double m0 = val(prev, "latency_ms.mean"), m1 = val(cur, "latency_ms.mean");
    double p0 = val(prev, "latency_ms.p99"), p1 = val(cur, "latency_ms.p99");

    fprintf(out, "- **%s**: %s. ", name, step_change(name));
    if (strcmp(json_string_value(json_object_get(cur, "status")), "ok") != 0) {
        fprintf(out, "Not measured: the build failed (%s).\n",
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
    fprintf(out, "; queries/request %s → %s; connections/request %s → %s; cache hit %s → %s; "
                 "bytes sent/response %s → %s; capacity %s → %s req/s.\n",
            report_fmt(report_path(prev, "db_queries_per_request.server"), 'q'),
            report_fmt(report_path(cur, "db_queries_per_request.server"), 'q'),
            report_fmt(report_path(prev, "connections_opened_per_request"), 'q'),
            report_fmt(report_path(cur, "connections_opened_per_request"), 'q'),
            report_fmt(report_path(prev, "cache_hit_rate.overall"), 'p'),
            report_fmt(report_path(cur, "cache_hit_rate.overall"), 'p'),
            report_fmt(report_path(prev, "bytes_per_response.sent"), 'b'),
            report_fmt(report_path(cur, "bytes_per_response.sent"), 'b'),
            report_fmt(report_path(prev, "capacity.rps"), 'r'),
            report_fmt(report_path(cur, "capacity.rps"), 'r'));
}


static void write_header(FILE *out, const json_t *run)
{
    fprintf(out, "# apibench reproduction %s\n\n", str_or(run, "id", "(unnamed)"));
    if (json_is_true(json_object_get(run, "partial")))
        fprintf(out, "> **PARTIAL RUN.** It was interrupted or cut short: builds without "
                     "figures below were not measured.\n\n");
    fprintf(out, "Measured on `%s` (%s, %s cores, %s bytes of memory), %s, from %s to %s. "
                 "Mode: %s, scale %s, seed %s.\n\n",
            str_or(run, "hostname", "?"), str_or(run, "cpu_model", "?"),
            report_fmt(json_object_get(run, "cores"), 'b'),
            report_fmt(json_object_get(run, "memory_bytes"), 'b'), str_or(run, "kernel", "?"),
            str_or(run, "started_at", "?"), str_or(run, "finished_at", "?"),
            json_is_true(json_object_get(run, "quick")) ? "--quick" : "default",
            report_fmt(json_object_get(run, "scale"), 'b'),
            report_fmt(json_object_get(run, "seed"), 'b'));
}

static void write_article_table(FILE *out, const json_t *run, const json_t *builds)
{
    const json_t *first = find_build(builds, "01"), *last = find_build(builds, "06");

    fprintf(out, "## The article's results beside the measured ones\n\n");
    fprintf(out, "Before = 01-baseline, after = 06-async, both at the common offered rate of "
                 "**%s req/s** (%s). The article's traffic was 10k requests/minute (167 req/s) "
                 "on hardware it does not describe.\n\n",
            report_fmt(json_object_get(run, "common_rate"), 'r'),
            str_or(run, "rate_source", "calibrated"));
    fprintf(out, "| Metric | Article before | Article after | Article change | Measured before "
                 "| Measured after | Measured change |\n");
    fprintf(out, "| --- | --- | --- | --- | --- | --- | --- |\n");
    article_row(out, "Response time mean (ms)", "2000", "50", "97% faster", first, last,
                "latency_ms.mean", 'm', "faster");
    article_row(out, "Database queries per headline request", "15", "2", "87% reduction", first,
                last, "headline_sample.db_queries_per_request.server", 'q', "fewer");
    article_row(out, "Cache hit rate", "0%", "85%", "new capability", first, last,
                "cache_hit_rate.overall", 'p', "lower");
    article_row(out, "Server CPU (% of machine)", "80%", "25%", "69% reduction", first, last,
                "cpu.server_pct", 'c', "less");
    article_row(out, "API + Postgres (+ worker) CPU (% of machine)", "—", "—", "—", first, last,
                "cpu.server_and_postgres_pct", 'c', "less");
    article_row(out, "Error rate", "2%", "0.1%", "95% reduction", first, last, "errors.rate",
                'p', "fewer");
    fprintf(out, "\n");
}

static void write_measured_table(FILE *out, const json_t *builds)
{
    size_t i;
    json_t *b;

    fprintf(out, "## Every build, measured\n\n| Metric |");
    json_array_foreach(builds, i, b)
        fprintf(out, " %s |", json_string_value(json_object_get(b, "build")));
    fprintf(out, "\n| --- |");
    json_array_foreach(builds, i, b)
        fprintf(out, " --- |");
    fprintf(out, "\n| Status |");
    json_array_foreach(builds, i, b)
        fprintf(out, " %s |", json_string_value(json_object_get(b, "status")));
    fprintf(out, "\n");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        fprintf(out, "| %s |", rows[r].label);
        json_array_foreach(builds, i, b) {
            bool floor = strcmp(rows[r].path, "capacity.rps") == 0 &&
                         json_is_true(report_path(b, "capacity.at_least"));
            fprintf(out, " %s%s |", floor ? "≥ " : "",
                    report_fmt(report_path(b, rows[r].path), rows[r].kind));
        }
        fprintf(out, "\n");
    }
    fprintf(out, "\n");
    fprintf(out, "Capacities marked ≥ held the SLO at every step of the sweep, so the build's "
                 "capacity is at least that (the sweep is bounded in time).\n\n");
    json_array_foreach(builds, i, b) {
        static const char *const where[] = {"db_queries_per_request", "whole mix",
                                            "headline_sample.db_queries_per_request",
                                            "headline sample"};
        for (int w = 0; w < 4; w += 2) {
            char p_agree[96], p_server[96], p_pg[96];
            snprintf(p_agree, sizeof p_agree, "%s.agree", where[w]);
            snprintf(p_server, sizeof p_server, "%s.server", where[w]);
            snprintf(p_pg, sizeof p_pg, "%s.pg_stat_statements", where[w]);
            if (json_is_false(report_path(b, p_agree)))
                fprintf(out, "**Mismatch (%s):** %s counted %s queries/request itself but "
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
    fprintf(out, "Common rate: **%s req/s** (%s); warm-up %s s (discarded), measured phase %s s, "
                 "mix `%s`.\n\n",
            report_fmt(json_object_get(run, "common_rate"), 'r'),
            str_or(run, "rate_source", "calibrated"),
            report_fmt(json_object_get(run, "warmup_s"), 'b'),
            report_fmt(json_object_get(run, "phase_s"), 'b'), str_or(run, "mix", "?"));
    {
        double fewest = INFINITY;
        json_array_foreach(json_object_get(summary, "builds"), i, s) {
            double n = val(s, "requests");
            if (isfinite(n) && n < fewest)
                fewest = n;
        }
        if (isfinite(fewest) && fewest < 100)
            fprintf(out, "**Small samples.** A measured phase holds as few as %.0f requests "
                         "here (the phase is lengthened, within a bound, to reach a minimum "
                         "count at the common rate). With fewer than 100 requests p99 is the "
                         "largest value seen, and with fewer than 10, p90 is too; read the "
                         "percentiles with the request counts beside them.\n\n",
                    fewest);
    }
    if (json_array_size(json_object_get(cal, "steps")) > 0) {
        fprintf(out, "Calibration of 01-baseline:\n\n| offered (req/s) | achieved (req/s) | p99 (ms) | "
                     "errors | holds |\n| --- | --- | --- | --- | --- |\n");
        json_array_foreach(json_object_get(cal, "steps"), i, s)
            fprintf(out, "| %s | %s | %s | %s | %s |\n",
                    report_fmt(json_object_get(s, "offered"), 'r'),
                    report_fmt(json_object_get(s, "achieved"), 'r'),
                    report_fmt(json_object_get(s, "p99_ms"), 'm'),
                    report_fmt(json_object_get(s, "error_rate"), 'p'),
                    json_is_true(json_object_get(s, "holds")) ? "yes" : "no");
        fprintf(out, "\n");
    }
    fprintf(out, "Capacity: after the common-rate phase each build gets a stepped sweep "
                 "(each step ×%s the last, from at least %s req/s, %s s a step, at most %s steps) "
                 "until a step breaks "
                 "the SLO p99 < %s ms, errors < 1%%, ≥ 95%% of offered requests served. A build's "
                 "capacity is the highest offered rate that held. See "
                 "`plots/capacity_achieved.png` and `plots/capacity_p99.png`.\n\n",
            report_fmt(json_object_get(run, "sweep_factor"), 'b'),
            report_fmt(json_object_get(run, "sweep_start"), 'b'),
            report_fmt(json_object_get(run, "sweep_step_s"), 'b'),
            report_fmt(json_object_get(run, "sweep_max_steps"), 'b'),
            report_fmt(json_object_get(run, "slo_p99_ms"), 'b'));
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
                str_or(p, "readings_node", "?"), report_fmt(json_object_get(p, "execution_ms"), 'm'));
    }
    json_array_foreach(json_object_get(summary, "builds"), i, b) {
        const json_t *p = json_object_get(b, "plan");
        if (!json_is_object(p))
            continue;
        fprintf(out, "| [%s's own query set](%s) | `%s` | %s |\n",
                json_string_value(json_object_get(b, "build")), str_or(p, "file", "?"),
                str_or(p, "readings_node", "?"), report_fmt(json_object_get(p, "execution_ms"), 'm'));
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
        {"Capacity under the SLO (req/s)", "capacity.rps", 'r'},
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
    for (size_t r = 0; r < sizeof cmp / sizeof cmp[0]; r++)
        fprintf(out, "| %s | %s | %s | %s |\n", cmp[r].label,
                cache ? report_fmt(report_path(cache, cmp[r].path), cmp[r].kind) : "n/a",
                pool ? report_fmt(report_path(pool, cmp[r].path), cmp[r].kind) : "n/a",
                report_fmt(report_path(pgb, cmp[r].path), cmp[r].kind));
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
    json_array_foreach(builds, i, b) {
        const json_t *t = json_object_get(b, "server_timing_ms");
        fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                json_string_value(json_object_get(b, "build")),
                report_fmt(json_object_get(t, "samples"), 'b'),
                report_fmt(json_object_get(t, "db"), 'q'), report_fmt(json_object_get(t, "cache"), 'q'),
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
    write_measured_table(out, builds);

    fprintf(out, "## Each step and its measured effect\n\n");
    {
        const json_t *prev = NULL; /* the last build measured before this one */
        json_array_foreach(builds, i, b) {
            if (prev == NULL)
                fprintf(out, "- **%s**: %s.\n", json_string_value(json_object_get(b, "build")),
                        step_change(json_string_value(json_object_get(b, "build"))));
            else
                effect_line(out, prev, b);
            if (strcmp(str_or(b, "status", ""), "ok") == 0)
                prev = b;
        }
    }
    fprintf(out, "\n");

    fprintf(out, "## Failed builds\n\n");
    json_array_foreach(builds, i, b) {
        const char *status = json_string_value(json_object_get(b, "status"));
        if (status && strcmp(status, "ok") != 0) {
            fprintf(out, "- %s: %s%s%s\n", json_string_value(json_object_get(b, "build")), status,
                    json_object_get(b, "reason") ? ": " : "", str_or(b, "reason", ""));
            failed++;
        }
    }
    if (failed == 0)
        fprintf(out, "None.\n");
    fprintf(out, "\n");
    json_array_foreach(builds, i, b) {
        const char *verify = str_or(b, "verify", "ok");
        if (strcmp(verify, "ok") != 0)
            fprintf(out, "- `apibench verify` against %s: %s (the build was measured all the "
                         "same)\n",
                    json_string_value(json_object_get(b, "build")), verify);
    }
    fprintf(out, "\n");

    write_load_design(out, summary);
    write_plans(out, summary);
    write_pgbouncer(out, builds);
    write_where(out, builds);

    fprintf(out, "## Definitions\n\n"
                 "- Response time: completion − intended send time (corrected for coordinated "
                 "omission), over every request of the measured phase that got a response.\n"
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
                 "counts that work too (\"machine CPU busy\" shows how busy the machine was). The article's \"server CPU 80%%\" reads as machine "
                 "utilisation of the API's host; here the API process and Postgres share one "
                 "machine, so both are shown, and their sum. The load generator runs on the "
                 "same machine too and is counted in \"machine CPU busy\" only, with anything "
                 "else that ran at the time.\n"
                 "- Error rate: the load generator's failed requests / requests sent (timeouts, "
                 "connect errors, HTTP 4xx and 5xx, other), each kind listed.\n"
                 "- Job latency (06-async): `mailed_at − created_at` of the run's reports.\n\n");

    fprintf(out, "## Plots\n\n");
    static const char *const plots[] = {"progression", "spectra", "capacity_achieved",
                                        "capacity_p99", "timing", "bytes"};
    for (size_t p = 0; p < sizeof plots / sizeof plots[0]; p++)
        fprintf(out, "- [%s](plots/%s.png) ([SVG](plots/%s.svg))\n", plots[p], plots[p], plots[p]);
    fprintf(out, "\nRaw files: `summary.json` (format in docs/RESULTS.md), `steps.log`, "
                 "`builds/NN-name/` (run JSON, `.hgrm`, metrics snapshots), `plans/`.\n");
    return ferror(out) ? -1 : 0;
}
