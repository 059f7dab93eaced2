/* report_instances.c - the capacity against K (see report_instances.h). */
#include "report_instances.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "apibench/strbuf.h"
#include "report_md.h"
#include "report_prom.h"
#include "report_summary.h"

static char *read_in(const char *dir, const char *name)
{
    char path[4096];
    return REPORT_FMT_FITS(path, "%s/%s", dir, name) ? strbuf_read_file(path, NULL) : NULL;
}

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* A new reference to obj's key, or JSON null. */
static json_t *copy_of(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v ? json_incref(v) : json_null();
}

/* after - before of the sum of metric name over the instances' scrapes; NAN when absent. */
static double prom_change(const char *before, const char *after, const char *name)
{
    double b = 0, a = 0;
    if (before == NULL || after == NULL || report_prom_sum(after, name, NULL, &a) == 0)
        return NAN;
    report_prom_sum(before, name, NULL, &b);
    return a - b;
}

/* One k of one build, from dir = scaling/BUILD/kK. */
static json_t *point(const char *dir, int k)
{
    char *status = read_in(dir, "status"), *mb = read_in(dir, "metrics.before.prom"),
         *ma = read_in(dir, "metrics.after.prom"), *sb = read_in(dir, "snap.before"),
         *sa = read_in(dir, "snap.after"), *ticks = read_in(dir, "balancer.ticks");
    char path[4096];
    json_t *cap = REPORT_FMT_FITS(path, "%s/capacity/capacity.json", dir)
                      ? json_load_file(path, 0, NULL)
                      : NULL;
    double window = (report_kv_num(sa, "wall_ns") - report_kv_num(sb, "wall_ns")) / 1e9;
    double received = prom_change(mb, ma, "apibench_cache_invalidations_received_total");
    double cpu = report_kv_num(ticks, "balancer_ticks") / report_kv_num(sa, "clk_tck") / window / report_kv_num(sa, "cores") * 100;
    json_t *out;

    if (status)
        status[strcspn(status, "\n")] = '\0';
    out = json_pack(
        "{s:i,s:s,s:{s:o,s:o,s:o,s:I},s:{s:o,s:o,s:o},s:o,s:o}", "k", k, "status",
        status ? status : "not measured", "capacity", "lower",
        copy_of(cap, "lower"), "upper",
        copy_of(cap, "upper"), "limited_by",
        copy_of(cap, "limited_by"), "probes",
        (json_int_t)json_array_size(json_object_get(cap, "probes")), "invalidations", "sent",
        num(prom_change(mb, ma, "apibench_cache_invalidations_total")), "received", num(received),
        "received_per_s", num(window > 0 ? received / window : NAN), "window_s", num(window),
        "balancer_cpu_pct", num(cpu));
    json_decref(cap);
    free(status);
    free(mb);
    free(ma);
    free(sb);
    free(sa);
    free(ticks);
    return out;
}

json_t *report_instances_block(const char *run_dir, const char *info)
{
    const char *v;
    char *builds, *ks, *save = NULL;
    json_t *list, *out;

    v = info ? report_kv(info, "scaling_builds") : NULL;
    if (v == NULL || *v == '\0')
        return json_null();
    builds = strdup(v);
    v = report_kv(info, "scaling_ks");
    ks = strdup(v ? v : "");
    list = json_array();
    for (char *b = builds ? strtok_r(builds, ",", &save) : NULL; b; b = strtok_r(NULL, ",", &save)) {
        json_t *points = json_array();
        char *copy = ks ? strdup(ks) : NULL, *save_k = NULL;
        /* only the two names scripts/lib/instances.sh measures: a folder name from run.info
         * is not trusted further */
        if (strcmp(b, "04-pool") != 0 && strcmp(b, "06-async") != 0) {
            free(copy);
            json_decref(points);
            continue;
        }
        for (char *t = copy ? strtok_r(copy, ",", &save_k) : NULL; t;
             t = strtok_r(NULL, ",", &save_k)) {
            char dir[4096];
            int k = atoi(t);
            if (k < 1 || k > 64 || !REPORT_FMT_FITS(dir, "%s/scaling/%s/k%d", run_dir, b, k))
                continue;
            json_array_append_new(points, point(dir, k));
        }
        free(copy);
        json_array_append_new(list, json_pack("{s:s,s:o}", "build", b, "points", points));
    }
    v = report_kv(info, "balancer");
    out = json_pack("{s:s,s:o}", "balancer", v ? v : "", "builds", list);
    free(builds);
    free(ks);
    return out;
}

void report_instances_md(FILE *out, const json_t *summary)
{
    const json_t *block = json_object_get(summary, "scaling"), *b, *p;
    size_t i, j;

    if (!json_is_object(block))
        return;
    fprintf(out,
            "## Capacity against K instances\n\n"
            "Each build with k instances behind the balancer (%s), searched as above. Every "
            "request crosses nginx, on the servers' cores, so its cost is inside these "
            "capacities; its own CPU over the search is shown. Invalidations received: cache "
            "namespaces another instance invalidated (Redis pub/sub), summed over the "
            "instances during the search.\n\n"
            "| build | k | capacity (req/s) | limited by | probes | invalidations sent | "
            "received from other instances | received/s | nginx CPU (%% of machine) | status "
            "|\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
            json_string_value(json_object_get(block, "balancer")));
    json_array_foreach(json_object_get(block, "builds"), i, b)
    {
        json_array_foreach(json_object_get(b, "points"), j, p)
        {
            char cap[128];
            json_t *c = json_object_get(p, "capacity");
            json_t *lo = json_object_get(c, "lower"), *up = json_object_get(c, "upper");
            if (json_is_number(lo) && json_number_value(lo) <= 0 &&
                !json_is_string(json_object_get(c, "limited_by")))
                snprintf(cap, sizeof cap, "no bracket (probes disagreed)");
            else if (json_is_number(lo) && json_number_value(lo) <= 0 && json_is_number(up))
                snprintf(cap, sizeof cap, "< %.0f", json_number_value(up));
            else if (json_is_number(lo) && json_is_number(up))
                snprintf(cap, sizeof cap, "[%.0f, %.0f]", json_number_value(lo),
                         json_number_value(up));
            else if (json_is_number(lo))
                snprintf(cap, sizeof cap, "≥ %.0f", json_number_value(lo));
            else
                snprintf(cap, sizeof cap, "n/a");
            fprintf(out, "| %s | %lld | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                    json_string_value(json_object_get(b, "build")),
                    (long long)json_integer_value(json_object_get(p, "k")), cap,
                    json_string_value(json_object_get(c, "limited_by"))
                        ? json_string_value(json_object_get(c, "limited_by"))
                        : "n/a",
                    report_fmt(json_object_get(c, "probes"), 'b'),
                    report_fmt(report_path(p, "invalidations.sent"), 'b'),
                    report_fmt(report_path(p, "invalidations.received"), 'b'),
                    report_fmt(report_path(p, "invalidations.received_per_s"), 'r'),
                    report_fmt(json_object_get(p, "balancer_cpu_pct"), 'c'),
                    json_string_value(json_object_get(p, "status")));
        }
    }
    fprintf(out, "\nThe instances, nginx, the load generator, Postgres and Redis share this "
                 "machine's cores (the placement above): once the instances outnumber the "
                 "cores, more of them add contention, not capacity.\n\n");
}
