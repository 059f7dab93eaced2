/* fuzz_results.c - the run-results reader of `apibench report` (harness/report_summary.c
 * and report_md.c). The input is a small results folder: sections separated by a line
 * "--8<--", written in order to the files below (a missing section is a missing file);
 * then report_summary_build reads the folder and report_md_write renders the summary. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_md.h"
#include "report_summary.h"

#include "fuzz.h"

static const char *const files[] = {
    "run.info",
    "builds/01-baseline/repeat-1/load.json",
    "builds/01-baseline/repeat-1/metrics.before.prom",
    "builds/01-baseline/repeat-1/metrics.after.prom",
    "builds/01-baseline/repeat-1/snap.before",
    "builds/01-baseline/repeat-1/snap.after",
    "builds/01-baseline/repeat-1/capacity/capacity.json",
    "builds/01-baseline/repeat-1/article.json",
    "builds/01-baseline/status",
    "builds/01-baseline/timing.txt",
    "builds/01-baseline/jobs.txt",
    "generator/ceiling-identity/capacity.json",
    "generator/floor-common.json",
    "calibration/sweep/100.json",
};
#define NFILES (sizeof files / sizeof files[0])
#define SEPARATOR "\n--8<--\n"

static char dir[64];

static void make_dirs(void)
{
    static const char *const dirs[] = {"builds", "builds/01-baseline",
                                       "builds/01-baseline/repeat-1",
                                       "builds/01-baseline/repeat-1/capacity", "generator",
                                       "generator/ceiling-identity", "calibration",
                                       "calibration/sweep"};
    char path[256];
    snprintf(dir, sizeof dir, "/tmp/apibench-fuzz-results.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, dirs[i]);
        mkdir(path, 0700);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        make_dirs();
    char *text = fuzz_cstr(data, size), *p = text, path[256], err[256];
    for (size_t i = 0; i < NFILES; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (!p) {
            unlink(path);
            continue;
        }
        char *end = strstr(p, SEPARATOR);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        FILE *f = fopen(path, "w");
        if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0)
            abort();
        p = end ? end + strlen(SEPARATOR) : NULL;
    }
    json_t *summary = report_summary_build(dir, err, sizeof err);
    if (summary) {
        FILE *out = fopen("/dev/null", "w");
        if (!out)
            abort();
        report_md_write(summary, out);
        fclose(out);
        json_decref(summary);
    }
    free(text);
    return 0;
}
