/* compare_runs.c - `apibench compare RUN_A RUN_B`: one Markdown table of every build's
 * figures in both runs with their ratio, the environment differences, and a progression
 * plot of both runs in one chart. */
#include "compare_runs.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "report_md.h"
#include "report_plots.h"
#include "report_summary.h"

static const struct {
    const char *label, *path;
    char kind;
} metrics[] = {
    /* the figures at the article's 167 req/s and the capacity: comparable across machines
     * (the calibrated common rate is not: it depends on the machine) */
    {"Capacity lower bound (req/s)", "capacity.lower", 'r'},
    {"Capacity upper bound (req/s)", "capacity.upper", 'r'},
    {"167 req/s: response time mean (ms)", "article_load.latency_ms.mean", 'm'},
    {"167 req/s: response time p99 (ms)", "article_load.latency_ms.p99", 'm'},
    {"167 req/s: achieved rate (req/s)", "article_load.achieved_rps", 'r'},
    {"167 req/s: error rate", "article_load.errors.rate", 'p'},
    {"167 req/s: DB queries/request", "article_load.db_queries_per_request.server", 'q'},
    {"167 req/s: cache hit rate overall", "article_load.cache_hit_rate.overall", 'p'},
    {"167 req/s: server CPU (% of machine)", "article_load.cpu.server_pct", 'c'},
    {"167 req/s: Postgres CPU (% of machine)", "article_load.cpu.postgres_pct", 'c'},
    {"167 req/s: CPU-µs/request", "article_load.cpu.total_us_per_request", 'b'},
    {"167 req/s: bytes/response sent", "article_load.bytes_per_response.sent", 'b'},
};

/* What two runs must share to be compared: the data (scale, seed), the load (mix) and the
 * mode (default or quick). */
static const char *const like_keys[] = {"scale", "seed", "mix", "mode", "quick", NULL};

int compare_unlike(const json_t *a, const json_t *b, char *buf, size_t len)
{
    const json_t *ra = json_object_get(a, "run"), *rb = json_object_get(b, "run");
    int n = 0;
    size_t used = 0;

    if (len > 0)
        buf[0] = '\0';
    for (const char *const *k = like_keys; *k; k++) {
        json_t *va = json_object_get(ra, *k), *vb = json_object_get(rb, *k);
        char *sa, *sb;
        if (json_equal(va, vb) || (va == NULL && vb == NULL))
            continue;
        sa = va ? json_dumps(va, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6)) : NULL;
        sb = vb ? json_dumps(vb, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6)) : NULL;
        if (used < len) {
            int w = snprintf(buf + used, len - used, "%s%s (A %s, B %s)", n ? "; " : "", *k,
                             sa ? sa : "absent", sb ? sb : "absent");
            used += w > 0 ? (size_t)w : 0;
        }
        free(sa);
        free(sb);
        n++;
    }
    return n;
}

/* The environment and configuration keys listed when they differ. */
static const char *const env_keys[] = {"hostname",
                                       "cpu_model",
                                       "cores",
                                       "memory_bytes",
                                       "kernel",
                                       "os",
                                       "postgres_version",
                                       "redis_version",
                                       "git_commit",
                                       "build_type",
                                       "mode",
                                       "scale",
                                       "seed",
                                       "common_rate",
                                       "rate_source",
                                       "phase_s",
                                       "mix",
                                       "instances",
                                       "pgbouncer",
                                       "quick",
                                       "network_profile",
                                       "network_rate_by",
                                       "network_rtt",
                                       NULL};

/* Lists what of run LABEL is missing: "partial run" (interrupted or cut short), and each
 * build not measured to the end with its status (failed, dead, interrupted, not-run).
 * Returns the number of lines written. */
static int write_missing(FILE *out, const char *label, const json_t *s)
{
    const json_t *run = json_object_get(s, "run");
    const char *why = json_string_value(json_object_get(run, "interrupted"));
    int n = 0;
    size_t i;
    json_t *b;

    if (json_is_true(json_object_get(run, "partial"))) {
        fprintf(out, "- %s is a **partial run**%s%s%s: its figures stop where it stopped.\n", label,
                why ? " (interrupted by " : "", why ? why : "", why ? ")" : "");
        n++;
    }
    json_array_foreach(json_object_get(s, "builds"), i, b)
    {
        const char *status = json_string_value(json_object_get(b, "status"));
        const char *reason = json_string_value(json_object_get(b, "reason"));
        if (status == NULL || strcmp(status, "ok") == 0)
            continue;
        fprintf(out, "- %s %s: %s%s%s\n", label, json_string_value(json_object_get(b, "build")),
                status, reason ? ": " : "", reason ? reason : "");
        n++;
    }
    return n;
}

int compare_md_write(const json_t *a, const char *name_a, const json_t *b, const char *name_b,
                     FILE *out)
{
    const json_t *ra = json_object_get(a, "run"), *rb = json_object_get(b, "run");
    int differences = 0;
    size_t i;
    json_t *ba;

    char unlike[1024];

    fprintf(out, "# apibench comparison\n\nA = `%s`, B = `%s`. Ratio = B / A.\n\n", name_a, name_b);
    if (compare_unlike(a, b, unlike, sizeof unlike) > 0)
        fprintf(out,
                "**Unlike runs, compared with --force:** %s. Their figures measure "
                "different work.\n\n",
                unlike);
    fprintf(out, "## Partial runs and builds not measured\n\n");
    if (write_missing(out, "A", a) + write_missing(out, "B", b) == 0)
        fprintf(out, "None: both runs ended normally and measured every build.\n");
    fprintf(out, "\n## Environment differences\n\n");
    for (const char *const *k = env_keys; *k; k++) {
        json_t *va = json_object_get(ra, *k), *vb = json_object_get(rb, *k);
        char *sa, *sb;
        if (json_equal(va, vb) || (va == NULL && vb == NULL))
            continue;
        sa = va ? json_dumps(va, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6)) : NULL;
        sb = vb ? json_dumps(vb, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6)) : NULL;
        fprintf(out, "- %s: A %s, B %s\n", *k, sa ? sa : "(absent)", sb ? sb : "(absent)");
        free(sa);
        free(sb);
        differences++;
    }
    if (differences == 0)
        fprintf(out, "None recorded.\n");
    fprintf(out, "\n## Figures\n\nCapacity brackets and the figures at the article's 167 req/s "
                 "(medians of each run's repeats). The common rate's figures are left out: "
                 "each machine calibrates its own.\n\n| Metric | Build | A | B | B/A |\n"
                 "| --- | --- | --- | --- | --- |\n");
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
        json_array_foreach(json_object_get(a, "builds"), i, ba)
        {
            const char *name = json_string_value(json_object_get(ba, "build"));
            const json_t *bb = report_find(json_object_get(b, "builds"), "build", name);
            json_t *xa = report_path(ba, metrics[m].path);
            json_t *xb = bb ? report_path(bb, metrics[m].path) : NULL;
            char ratio[32] = "n/a";
            if (json_is_number(xa) && json_is_number(xb) && json_number_value(xa) != 0)
                snprintf(ratio, sizeof ratio, "%.2f",
                         json_number_value(xb) / json_number_value(xa));
            fprintf(out, "| %s | %s | %s | %s | %s |\n", metrics[m].label, name,
                    report_fmt(xa, metrics[m].kind), report_fmt(xb, metrics[m].kind), ratio);
        }
    }
    fprintf(out, "\n![progression of both runs](plots/compare_progression.png)\n");
    return ferror(out) ? -1 : 0;
}

/* Loads RUN/summary.json, or builds it when the folder has only raw files. */
static json_t *load_summary(const char *run_dir)
{
    char path[PATH_MAX], err[512];
    json_t *s;

    s = REPORT_FMT_FITS(path, "%s/summary.json", run_dir) ? json_load_file(path, 0, NULL) : NULL;
    if (s)
        return s;
    s = report_summary_build(run_dir, err, sizeof err);
    if (s == NULL)
        fprintf(stderr, "apibench compare: %s\n", err);
    return s;
}

static int write_compare_dat(const json_t *a, const json_t *b, const char *out_dir)
{
    char path[PATH_MAX];
    FILE *f;
    size_t i;
    json_t *ba;

    if (!REPORT_FMT_FITS(path, "%s/plots/compare_progression.dat", out_dir))
        return -1;
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "# i build meanA p99A meanB p99B\n");
    json_array_foreach(json_object_get(a, "builds"), i, ba)
    {
        const char *name = json_string_value(json_object_get(ba, "build"));
        const json_t *bb = report_find(json_object_get(b, "builds"), "build", name);
        fprintf(f, "%zu %s", i, name);
        report_dat_num(f, report_path(ba, "article_load.latency_ms.mean"));
        report_dat_num(f, report_path(ba, "article_load.latency_ms.p99"));
        report_dat_num(f, bb ? report_path(bb, "article_load.latency_ms.mean") : NULL);
        report_dat_num(f, bb ? report_path(bb, "article_load.latency_ms.p99") : NULL);
        fprintf(f, "\n");
    }
    return fclose(f);
}

static void compare_usage(FILE *out)
{
    fprintf(out, "usage: apibench compare [--out DIR] [--no-plots] [--force] RUN_A RUN_B\n\n"
                 "Compares two scripts/reproduce results folders: writes DIR/compare.md (also\n"
                 "printed) and DIR/plots/compare_progression.{png,svg}. DIR defaults to\n"
                 "compare-<A>-vs-<B> beside RUN_A; an existing DIR is refused.\n"
                 "Runs whose scale, seed, mix or mode differ are refused (exit 1) unless\n"
                 "--force, which lists the differences at the top of the comparison.\n");
}

static const char *base_name(const char *path, char *buf, size_t len)
{
    size_t n = strlen(path);
    const char *slash;
    while (n > 1 && path[n - 1] == '/')
        n--;
    snprintf(buf, len, "%.*s", (int)n, path);
    slash = strrchr(buf, '/');
    return slash ? slash + 1 : buf;
}

int compare_main(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"no-plots", no_argument, NULL, 'n'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *out_dir = NULL;
    bool plots = true, force = false;
    char dir[PATH_MAX], path[PATH_MAX], na[PATH_MAX], nb[PATH_MAX], err[512], unlike[1024];
    json_t *a = NULL, *b = NULL;
    FILE *f;
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out_dir = optarg;
            break;
        case 'n':
            plots = false;
            break;
        case 'f':
            force = true;
            break;
        case 'h':
            compare_usage(stdout);
            return 0;
        default:
            compare_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 2) {
        compare_usage(stderr);
        return 2;
    }
    a = load_summary(argv[optind]);
    b = a ? load_summary(argv[optind + 1]) : NULL;
    if (a == NULL || b == NULL)
        goto out;
    if (compare_unlike(a, b, unlike, sizeof unlike) > 0 && !force) {
        fprintf(stderr, "apibench compare: unlike runs: %s (--force compares them anyway)\n",
                unlike);
        goto out;
    }
    if (out_dir == NULL) {
        char parent[PATH_MAX];
        const char *slash;
        snprintf(parent, sizeof parent, "%s", argv[optind]);
        while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/')
            parent[strlen(parent) - 1] = '\0';
        slash = strrchr(parent, '/');
        snprintf(dir, sizeof dir, "%.*s%scompare-%.1000s-vs-%.1000s",
                 slash ? (int)(slash - parent) : 0, parent, slash ? "/" : "",
                 base_name(argv[optind], na, sizeof na),
                 base_name(argv[optind + 1], nb, sizeof nb));
        out_dir = dir;
    }
    if (mkdir(out_dir, 0755) != 0) {
        fprintf(stderr, "apibench compare: cannot create %s: %s\n", out_dir,
                errno == EEXIST ? "it exists (never overwritten)" : strerror(errno));
        goto out;
    }
    if (!REPORT_FMT_FITS(path, "%s/plots", out_dir) || mkdir(path, 0755) != 0 ||
        write_compare_dat(a, b, out_dir) != 0) {
        fprintf(stderr, "apibench compare: cannot write %s: %s\n", path, strerror(errno));
        goto out;
    }
    f = REPORT_FMT_FITS(path, "%s/compare.md", out_dir) ? fopen(path, "w") : NULL;
    if (f == NULL || compare_md_write(a, argv[optind], b, argv[optind + 1], f) != 0) {
        fprintf(stderr, "apibench compare: cannot write %s\n", path);
        if (f)
            fclose(f);
        goto out;
    }
    fclose(f);
    compare_md_write(a, argv[optind], b, argv[optind + 1], stdout);
    if (plots) {
        char vars[PATH_MAX * 3];
        if (strchr(out_dir, '\'') || strchr(argv[optind], '\'') || strchr(argv[optind + 1], '\'')) {
            fprintf(stderr, "apibench compare: cannot plot: a quote in a path\n");
            goto out;
        }
        snprintf(vars, sizeof vars, "outdir='%s'; name_a='%s'; name_b='%s'; nbuilds=%zu", out_dir,
                 base_name(argv[optind], na, sizeof na), base_name(argv[optind + 1], nb, sizeof nb),
                 json_array_size(json_object_get(a, "builds")));
        if (report_gnuplot("plot_compare.gp", vars, err, sizeof err) != 0) {
            fprintf(stderr, "apibench compare: plots: %s\n", err);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(a);
    json_decref(b);
    return rc;
}
