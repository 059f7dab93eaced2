/* report_plots.c - the plots' .dat files from summary.json, then gnuplot. The .gp scripts read only
 * these files and the .hgrm spectra, so a plot can be redrawn by hand from a results
 * folder: gnuplot -e "rundir='results/X'; builds='01-baseline ...'" scripts/plot_spectra.gp */
#include "report_plots.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report_ablation.h"
#include "report_md.h"
#include "report_summary.h"
#include "apibench/strbuf.h"

extern char **environ;

const char *report_scripts_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("APIBENCH_SCRIPTS");
    char exe[PATH_MAX];
    ssize_t n;

    if (env && *env) {
        snprintf(dir, sizeof dir, "%s", env);
        return dir;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        char *slash;
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            struct stat st;
            *slash = '\0';
            snprintf(dir, sizeof dir, "%.4000s/../scripts/plot_progression.gp", exe);
            if (stat(dir, &st) == 0) {
                snprintf(dir, sizeof dir, "%.4000s/../scripts", exe);
                return dir;
            }
        }
    }
    snprintf(dir, sizeof dir, "scripts");
    return dir;
}

int report_gnuplot(const char *script, const char *vars, char *err, size_t errlen)
{
    char path[PATH_MAX];
    char *argv[5];
    struct strbuf all = {0}; /* exec's argv is not const; dir= lets scripts load siblings */
    char gp[] = "gnuplot", e[] = "-e";
    pid_t pid;
    int status, rc;

    if (!REPORT_FMT_FITS(path, "%s/%s", report_scripts_dir(), script)) {
        snprintf(err, errlen, "path too long: %s", script);
        return -1;
    }
    strbuf_appendf(&all, "dir='%s'; %s", report_scripts_dir(), vars);
    argv[0] = gp;
    argv[1] = e;
    argv[2] = all.data;
    argv[3] = path;
    argv[4] = NULL;
    rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
    strbuf_free(&all);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run gnuplot: %s (apt-get install gnuplot-nox)", strerror(rc));
        return -1;
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "gnuplot failed on %s", path);
        return -1;
    }
    return 0;
}

void report_dat_num(FILE *f, const json_t *x)
{
    if (json_is_number(x))
        fprintf(f, " %.6g", json_number_value(x));
    else
        fprintf(f, " ?");
}

static double dat_or_zero(const json_t *x)
{
    return json_is_number(x) ? json_number_value(x) : 0;
}

static FILE *open_dat(const char *run_dir, const char *name)
{
    char path[PATH_MAX];
    if (!REPORT_FMT_FITS(path, "%s/plots/%s", run_dir, name))
        return NULL;
    return fopen(path, "w");
}

/* One row per build: index, name, then the figures at paths. */
static int write_per_build(const json_t *builds, const char *run_dir, const char *name,
                           const char *header, const char *const *paths)
{
    FILE *f = open_dat(run_dir, name);
    size_t i;
    json_t *b;

    if (f == NULL)
        return -1;
    fprintf(f, "# %s\n", header);
    json_array_foreach(builds, i, b)
    {
        fprintf(f, "%zu %s", i, json_string_value(json_object_get(b, "build")));
        for (const char *const *p = paths; *p; p++)
            report_dat_num(f, report_path(b, *p));
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int cmp_probe(const void *x, const void *y)
{
    double a = json_number_value(json_object_get(*(json_t *const *)x, "offered"));
    double b = json_number_value(json_object_get(*(json_t *const *)y, "offered"));
    return (a > b) - (a < b);
}

/* A build's search probes (every repeat's), by offered rate. Borrowed references in a
 * new array the caller frees; *n gets their count. */
static json_t **sorted_probes(const json_t *b, size_t *n)
{
    const json_t *probes = report_path(b, "capacity.probes");
    json_t **v;

    *n = json_array_size(probes);
    v = malloc((*n ? *n : 1) * sizeof *v);
    if (v == NULL) {
        *n = 0;
        return NULL;
    }
    for (size_t i = 0; i < *n; i++)
        v[i] = json_array_get(probes, i);
    qsort(v, *n, sizeof *v, cmp_probe);
    return v;
}

/* capacity_NN-name.dat (offered achieved p99 error_rate holds) and
 * latency_throughput_NN-name.dat (achieved p50 p99 holds): the search's probes. */
static int write_probes(const json_t *b, const char *run_dir)
{
    const char *build = json_string_value(json_object_get(b, "build"));
    char name[300];
    FILE *f, *g;
    size_t n;
    json_t **p = sorted_probes(b, &n);

    snprintf(name, sizeof name, "capacity_%.250s.dat", build);
    f = open_dat(run_dir, name);
    snprintf(name, sizeof name, "latency_throughput_%.250s.dat", build);
    g = open_dat(run_dir, name);
    if (f == NULL || g == NULL) {
        if (f)
            fclose(f);
        if (g)
            fclose(g);
        free(p);
        return -1;
    }
    fprintf(f, "# offered_rps achieved_rps p99_ms error_rate holds\n");
    fprintf(g, "# achieved_rps p50_ms p99_ms holds\n");
    for (size_t i = 0; i < n; i++) {
        int holds = json_is_true(json_object_get(p[i], "holds"));
        report_dat_num(f, json_object_get(p[i], "offered"));
        report_dat_num(f, json_object_get(p[i], "achieved"));
        report_dat_num(f, json_object_get(p[i], "p99_ms"));
        report_dat_num(f, json_object_get(p[i], "error_rate"));
        fprintf(f, " %d\n", holds);
        report_dat_num(g, json_object_get(p[i], "achieved"));
        report_dat_num(g, json_object_get(p[i], "p50_ms"));
        report_dat_num(g, json_object_get(p[i], "p99_ms"));
        fprintf(g, " %d\n", holds);
    }
    free(p);
    return (fclose(f) == 0) & (fclose(g) == 0) ? 0 : -1;
}

/* overload_NN-name.dat: the 167 req/s phase by second of intended send time. */
static int write_timeline(const json_t *b, const char *run_dir)
{
    char name[300];
    FILE *f;
    size_t i;
    json_t *s;

    snprintf(name, sizeof name, "overload_%.250s.dat",
             json_string_value(json_object_get(b, "build")));
    f = open_dat(run_dir, name);
    if (f == NULL)
        return -1;
    fprintf(f, "# t_s mean_ms max_ms due responses errors\n");
    json_array_foreach(report_path(b, "article_load.timeline"), i, s)
    {
        report_dat_num(f, json_object_get(s, "t_s"));
        report_dat_num(f, json_object_get(s, "mean_ms"));
        report_dat_num(f, json_object_get(s, "max_ms"));
        report_dat_num(f, json_object_get(s, "due"));
        report_dat_num(f, json_object_get(s, "responses"));
        report_dat_num(f, json_object_get(s, "errors"));
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* capacity.dat: i build lower upper (upper = lower when open) open(0/1). */
static int write_capacity_bars(const json_t *builds, const char *run_dir)
{
    FILE *f = open_dat(run_dir, "capacity.dat");
    size_t i;
    json_t *b;

    if (f == NULL)
        return -1;
    fprintf(f, "# i build lower upper open\n");
    json_array_foreach(builds, i, b)
    {
        json_t *lo = report_path(b, "capacity.lower"), *up = report_path(b, "capacity.upper");
        fprintf(f, "%zu %s", i, json_string_value(json_object_get(b, "build")));
        report_dat_num(f, lo);
        report_dat_num(f, json_is_number(up) ? up : lo);
        fprintf(f, " %d\n", json_is_number(lo) && !json_is_number(up));
    }
    return fclose(f) == 0 ? 0 : -1;
}

int report_plots_write(const json_t *summary, const char *run_dir, char *err, size_t errlen)
{
    static const char *const lat[] = {"latency_ms.mean", "latency_ms.p50", "latency_ms.p90",
                                      "latency_ms.p99",  "latency_ms.max", NULL};
    static const char *const timing[] = {"server_timing_ms.db", "server_timing_ms.cache",
                                         "server_timing_ms.render", "server_timing_ms.encode",
                                         NULL};
    static const char *const bytes[] = {"bytes_per_response.rendered", "bytes_per_response.sent",
                                        NULL};
    static const char *const scripts[] = {"plot_progression.gp",
                                          "plot_spectra.gp",
                                          "plot_capacity.gp",
                                          "plot_capacity_bars.gp",
                                          "plot_latency_throughput.gp",
                                          "plot_overload.gp",
                                          "plot_timing.gp",
                                          "plot_bytes.gp",
                                          NULL};
    const json_t *builds = json_object_get(summary, "builds");
    char dir[PATH_MAX];
    struct strbuf vars = {0}, names = {0}, spectra = {0}, swept = {0}, timelines = {0};
    const json_t *gen = json_object_get(summary, "generator");
    char floor_hgrm[PATH_MAX];
    const char *sub = "repeat-1/";
    size_t bars = 0;     /* builds with a capacity (lower > 0) to draw */
    size_t measured = 0; /* builds with figures (none in a run interrupted early) */
    size_t i;
    json_t *b;
    int rc = -1;

    if (strchr(run_dir, '\'')) {
        snprintf(err, errlen, "cannot plot into %s: a quote in the path", run_dir);
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/plots", run_dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (write_per_build(builds, run_dir, "progression.dat", "i build mean p50 p90 p99 max", lat) ||
        write_per_build(builds, run_dir, "timing.dat", "i build db cache render encode", timing) ||
        write_per_build(builds, run_dir, "bytes.dat", "i build rendered sent", bytes) ||
        write_capacity_bars(builds, run_dir)) {
        snprintf(err, errlen, "cannot write %s/*.dat: %s", dir, strerror(errno));
        return -1;
    }
    strbuf_append(&names, "", 0);
    strbuf_append(&spectra, "", 0);
    strbuf_append(&swept, "", 0);
    strbuf_append(&timelines, "", 0);
    /* spectra: repeat 1's (an older results folder: the build folder's own) */
    json_array_foreach(builds, i, b)
    {
        char hgrm[PATH_MAX];
        snprintf(hgrm, sizeof hgrm, "%s/builds/%s/load.latency.hgrm", run_dir,
                 json_string_value(json_object_get(b, "build")));
        if (access(hgrm, R_OK) == 0)
            sub = "";
    }
    json_array_foreach(builds, i, b)
    {
        const char *name = json_string_value(json_object_get(b, "build"));
        char hgrm[PATH_MAX];
        if (write_probes(b, run_dir) != 0 || write_timeline(b, run_dir) != 0) {
            snprintf(err, errlen, "cannot write capacity data in %s: %s", dir, strerror(errno));
            goto out;
        }
        strbuf_appendf(&names, "%s%s", names.len ? " " : "", name);
        bars += dat_or_zero(report_path(b, "capacity.lower")) > 0;
        if (json_array_size(report_path(b, "capacity.probes")) > 0)
            strbuf_appendf(&swept, "%s%s", swept.len ? " " : "", name);
        if (json_array_size(report_path(b, "article_load.timeline")) > 0)
            strbuf_appendf(&timelines, "%s%s", timelines.len ? " " : "", name);
        snprintf(hgrm, sizeof hgrm, "%s/builds/%s/%sload.latency.hgrm", run_dir, name, sub);
        if (access(hgrm, R_OK) == 0)
            strbuf_appendf(&spectra, "%s%s", spectra.len ? " " : "", name);
    }
    snprintf(floor_hgrm, sizeof floor_hgrm, "%s/generator/floor-common.latency.hgrm", run_dir);
    if (access(floor_hgrm, R_OK) != 0)
        floor_hgrm[0] = '\0';
    {
        /* the progression's y range: below the smallest p50, above the largest p99, and
         * always wide enough for the article's 50 and 2000 ms marks */
        double lo = 1, hi = 5000;
        json_array_foreach(builds, i, b)
        {
            json_t *p50 = report_path(b, "latency_ms.p50"), *p99 = report_path(b, "latency_ms.p99");
            if (json_is_number(p50) && json_number_value(p50) > 0 && json_number_value(p50) < lo)
                lo = json_number_value(p50) / 2;
            if (json_is_number(p99) && json_number_value(p99) * 2 > hi)
                hi = json_number_value(p99) * 2;
        }
        strbuf_appendf(&vars,
                       "rundir='%s'; builds='%s'; spectra='%s'; swept='%s'; nbuilds=%zu; "
                       "ymin=%g; ymax=%g; hgrm_sub='%s'; floor_hgrm='%s'; timelines='%s'; "
                       "slo_ms=%g",
                       run_dir, names.data, spectra.data, swept.data, json_array_size(builds), lo,
                       hi, sub, floor_hgrm, timelines.data,
                       json_is_number(report_path(summary, "run.slo_p99_ms"))
                           ? json_number_value(report_path(summary, "run.slo_p99_ms"))
                           : 500.0);
        /* the generator's figures, drawn as lines; 0 = not measured */
        strbuf_appendf(&vars, "; ceiling_identity=%g; ceiling_gzip=%g; floor_p50=%g; floor_p99=%g",
                       dat_or_zero(report_path(gen, "ceiling_rps.identity")),
                       dat_or_zero(report_path(gen, "ceiling_rps.gzip")),
                       dat_or_zero(report_path(gen, "floor_ms.article.p50")),
                       dat_or_zero(report_path(gen, "floor_ms.article.p99")));
    }
    json_array_foreach(builds, i, b) measured += json_is_number(report_path(b, bytes[1]));
    for (const char *const *s = scripts; *s; s++) {
        /* nothing to draw (an older results folder, a run interrupted early): skip, as
         * gnuplot 5.4 runs an empty plot iteration once and fails on it */
        if ((measured == 0 && strcmp(*s, "plot_bytes.gp") == 0) ||
            (swept.len == 0 && (strcmp(*s, "plot_capacity.gp") == 0 ||
                                strcmp(*s, "plot_latency_throughput.gp") == 0)) ||
            (timelines.len == 0 && strcmp(*s, "plot_overload.gp") == 0) ||
            (bars == 0 && strcmp(*s, "plot_capacity_bars.gp") == 0) ||
            (spectra.len == 0 && strcmp(*s, "plot_spectra.gp") == 0))
            continue;
        if (report_gnuplot(*s, vars.data, err, errlen) != 0)
            goto out;
    }
    if (report_ablation_plot(summary, run_dir, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    strbuf_free(&vars);
    strbuf_free(&names);
    strbuf_free(&spectra);
    strbuf_free(&swept);
    strbuf_free(&timelines);
    return rc;
}
