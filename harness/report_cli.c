/* report_cli.c - `apibench report RUN_DIR`: summary.json, plots and report.md of a
 * reproduction's results folder (scripts/reproduce runs it at the end of every run). */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "report_md.h"
#include "report_plots.h"
#include "report_summary.h"

static void report_usage(FILE *out)
{
    fprintf(out, "usage: apibench report [--no-plots] RUN_DIR\n\n"
                 "Reads the raw files of a scripts/reproduce results folder and writes\n"
                 "RUN_DIR/summary.json, RUN_DIR/plots/*.{dat,png,svg} and RUN_DIR/report.md\n"
                 "(formats in docs/RESULTS.md). Re-running it rewrites those three only.\n\n"
                 "  --no-plots   skip gnuplot (the .dat files are still written)\n");
}

/* Writes text to path through a temporary file and a rename. Returns 0 or -1. */
static int write_atomic_json(const json_t *j, const char *path)
{
    char tmp[PATH_MAX];
    if (!REPORT_FMT_FITS(tmp, "%s.tmp", path))
        return -1;
    if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10)) != 0)
        return -1;
    return rename(tmp, path);
}

static int write_atomic_md(const json_t *summary, const char *path)
{
    char tmp[PATH_MAX];
    FILE *f;
    int rc;

    if (!REPORT_FMT_FITS(tmp, "%s.tmp", path))
        return -1;
    f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    rc = report_md_write(summary, f);
    if (fclose(f) != 0 || rc != 0)
        return -1;
    return rename(tmp, path);
}

int report_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"no-plots", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    bool plots = true;
    char err[512], path[PATH_MAX];
    json_t *summary;
    int c, rc = 1;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            plots = false;
            break;
        case 'h':
            report_usage(stdout);
            return 0;
        default:
            report_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        report_usage(stderr);
        return 2;
    }
    summary = report_summary_build(argv[optind], err, sizeof err);
    if (summary == NULL) {
        fprintf(stderr, "apibench report: %s\n", err);
        return 1;
    }
    if (!REPORT_FMT_FITS(path, "%s/summary.json", argv[optind]) ||
        write_atomic_json(summary, path) != 0) {
        fprintf(stderr, "apibench report: cannot write %s\n", path);
        goto out;
    }
    /* A plot that fails (gnuplot missing, nothing to plot) does not stop the report. */
    rc = 0;
    if (plots && report_plots_write(summary, argv[optind], err, sizeof err) != 0) {
        fprintf(stderr, "apibench report: plots: %s\n", err);
        rc = 1;
    }
    if (!REPORT_FMT_FITS(path, "%s/report.md", argv[optind]) ||
        write_atomic_md(summary, path) != 0) {
        fprintf(stderr, "apibench report: cannot write %s\n", path);
        rc = 1;
        goto out;
    }
    printf("%s\n", path);
out:
    json_decref(summary);
    return rc;
}
